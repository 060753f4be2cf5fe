// Codegen: operations.graphql must use every Query, Mutation and Subscription field of
// ../schema.graphql and validate against it; graphql-codegen (typescript +
// typescript-operations) generates their types into generated/, and
// `tsc --noEmit` type-checks typed-client.ts against them. Needs no server.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { Kind, buildSchema, parse, validate } from 'graphql';

const here = new URL('.', import.meta.url).pathname;
const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const document = parse(readFileSync(new URL('operations.graphql', import.meta.url), 'utf8'));

function fail(message) {
  console.log(`FAILED: ${message}`);
  process.exit(1);
}

const errors = validate(schema, document);
if (errors.length) {
  for (const e of errors) console.error(`operations.graphql: ${e.message}`);
  fail(`operations.graphql does not validate against schema.graphql (${errors.length} errors)`);
}

// Root fields used by the operations (fragments spread on a root type count too).
const used = { query: new Set(), mutation: new Set(), subscription: new Set() };
const fragments = new Map(
  document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
);
function collect(selectionSet, into) {
  for (const sel of selectionSet.selections) {
    if (sel.kind === Kind.FIELD) into.add(sel.name.value);
    else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet, into);
    else if (sel.kind === Kind.FRAGMENT_SPREAD) collect(fragments.get(sel.name.value).selectionSet, into);
  }
}
let operations = 0;
for (const def of document.definitions) {
  if (def.kind !== Kind.OPERATION_DEFINITION || !used[def.operation]) continue;
  operations += 1;
  collect(def.selectionSet, used[def.operation]);
}
const coverage = [];
const missing = [];
for (const [kind, type] of [
  ['query', schema.getQueryType()],
  ['mutation', schema.getMutationType()],
  ['subscription', schema.getSubscriptionType()],
]) {
  if (!type) continue;
  const fields = Object.keys(type?.getFields() ?? {});
  const absent = fields.filter((f) => !used[kind].has(f));
  missing.push(...absent.map((f) => `${type.name}.${f}`));
  coverage.push(`${fields.length - absent.length}/${fields.length} ${type.name}`);
}
if (missing.length) {
  fail(`operations.graphql uses no operation for ${missing.join(', ')}: add one in its section`);
}

rmSync(new URL('generated', import.meta.url), { recursive: true, force: true });
const run = (bin, args) => {
  try {
    execFileSync(`${here}node_modules/.bin/${bin}`, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    console.error(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    fail(`${bin} ${args.join(' ')} failed`);
  }
};
run('graphql-codegen', ['--config', 'codegen.yml', '--silent']);
run('tsc', ['--noEmit', '-p', 'tsconfig.json']);

console.log(
  `codegen ok: ${operations} operations cover ${coverage.join(' and ')} fields; generated/{schema,operations}.ts; tsc --noEmit typed-client.ts passed`,
);
