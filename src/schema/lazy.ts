// A schema made on its first use. zod makes every method of a schema when
// the schema is made: some 300 of them across ga's files took a tenth of a
// command's start-up (and fed its first garbage collections), while each
// command reads only a few kinds of file.

/** `make()`, called once, when the schema is first asked for. */
export function lazySchema<S>(make: () => S): () => S {
  let made: S | undefined;
  return () => (made ??= make());
}

/** `make()`'s value (a parsed default, such as the fail-closed policy), made once, when first asked for. */
export const lazyValue: <T>(make: () => T) => () => T = lazySchema;
