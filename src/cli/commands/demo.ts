export default async function demo() { return 0; }
