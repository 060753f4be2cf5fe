// The live server's introspection equals the checked-in schema.graphql:
// graphql-js finds no breaking and no dangerous change in either direction.
//
// Built-ins are compared as the spec defines them, not as each side spells
// them: introspection lists every standard scalar (async-graphql always
// registers Float) while an SDL file builds only the referenced ones, and
// graphql-js's own @deprecated has a location async-graphql's lacks. Both
// sides therefore get graphql-js's standard directives and keep only the
// standard scalars they reference; everything the project defines is compared
// as served.
import { readFileSync } from 'node:fs';
import {
  GraphQLSchema,
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  isSpecifiedDirective,
  isSpecifiedScalarType,
} from 'graphql';
import { gql, runCheck } from './lib.mjs';

function withStandardBuiltIns(schema) {
  const config = schema.toConfig();
  return new GraphQLSchema({
    ...config,
    types: config.types.filter((t) => !isSpecifiedScalarType(t)),
    directives: [
      ...new GraphQLSchema({}).getDirectives(),
      ...config.directives.filter((d) => !isSpecifiedDirective(d)),
    ],
  });
}

await runCheck(async () => {
  const { status, body } = await gql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true }));
  if (status !== 200 || body.errors) throw new Error(`introspection failed: HTTP ${status} ${JSON.stringify(body.errors)}`);
  const live = withStandardBuiltIns(buildClientSchema(body.data));
  const file = withStandardBuiltIns(buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')));

  const diffs = [
    ['breaking (file → live)', findBreakingChanges(file, live)],
    ['dangerous (file → live)', findDangerousChanges(file, live)],
    ['breaking (live → file)', findBreakingChanges(live, file)],
    ['dangerous (live → file)', findDangerousChanges(live, file)],
  ];
  const found = diffs.filter(([, changes]) => changes.length);
  for (const [label, changes] of found) {
    for (const c of changes) console.error(`${label}: ${c.type}: ${c.description}`);
  }
  if (found.length) {
    throw new Error(
      `schema.graphql differs from the live schema (${found.map(([l, c]) => `${c.length} ${l}`).join(', ')}); regenerate it with \`authql export-schema schema.graphql\``,
    );
  }
  const types = Object.keys(live.getTypeMap()).filter((t) => !t.startsWith('__')).length;
  return `schema ok: live introspection equals schema.graphql (${types} types; no breaking or dangerous change either way)`;
});
