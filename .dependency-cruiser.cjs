// The layers of src/ (docs/architecture.md), enforced in npm test: each
// layer imports only the layers below it, operations and actions never
// import one another sideways, and nothing imports in a cycle.
//
//   entry points (cli, demo) -> operations -> actions -> read model -> infrastructure
const INFRA = '^src/(?:git|runtime|schema|layout|text)/|^src/(?:errors|clock)\\.ts$';
const READ = '^src/(?:history|agents|budget|ledger|audit|policy|trust|hub)/';
const ACTIONS = '^src/(proposals|pause|executor|governed)/';
const OPS = '^src/(runner|watchdog|verify|report|init)/';
const CLI = '^src/(?:cli|demo)/';

const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'modules must not import each other in a cycle', severity: 'error', from: {}, to: { circular: true } },
    forbid('infrastructure-stays-below', 'git, runtime, schema, layout and text know nothing of governance', INFRA, [READ, ACTIONS, OPS, CLI].join('|')),
    forbid(
      'read-model-stays-below',
      'the read model (history, agents, budget, ledger, audit, policy, trust) never calls an action, an operation or the CLI',
      READ,
      [ACTIONS, OPS, CLI].join('|'),
    ),
    forbid('actions-stay-below', 'actions (proposals, pause, executor, governed) never call an operation or the CLI', ACTIONS, [OPS, CLI].join('|')),
    forbid('operations-stay-below', 'operations never call an entry point (the CLI, the demo)', OPS, CLI),
    {
      name: 'no-sideways-operations',
      comment: 'one operation never imports another (runner -> watchdog, watchdog -> runner, runner -> verify ...): what they share belongs lower',
      severity: 'error',
      from: { path: OPS },
      to: { path: OPS, pathNot: '^src/$1/' },
    },
    {
      name: 'no-sideways-actions',
      comment: 'one action never imports another: what they share belongs in the read model',
      severity: 'error',
      from: { path: ACTIONS },
      to: { path: ACTIONS, pathNot: '^src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/index\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
