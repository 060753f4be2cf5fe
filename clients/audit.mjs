// GraphQL over HTTP conformance: graphql-http's server audits against
// /graphql. Every MUST and every SHOULD audit has to pass (MAY ones are
// reported only). Prints the counts by level and the reason of each miss.
import { serverAudits } from 'graphql-http';
import { GRAPHQL_URL, runCheck } from './lib.mjs';

await runCheck(async () => {
  const audits = serverAudits({ url: GRAPHQL_URL, fetchFn: fetch });
  const counts = {};
  const misses = [];
  for (const audit of audits) {
    const level = audit.name.split(' ')[0];
    const result = await audit.fn();
    counts[level] ??= { ok: 0, warn: 0, error: 0, notice: 0 };
    counts[level][result.status] += 1;
    if (result.status !== 'ok') {
      let body = '';
      try {
        body = await result.response.text();
      } catch {
        // the body may have been read by the audit already
      }
      misses.push({ level, ...result, body });
      console.error(`[${result.status}] ${audit.id} ${audit.name}\n    ${result.reason}\n    HTTP ${result.response?.status} ${body.slice(0, 300)}`);
    }
  }
  const summary = ['MUST', 'SHOULD', 'MAY']
    .filter((l) => counts[l])
    .map((l) => {
      const c = counts[l];
      return `${l} ${c.ok} passed/${c.warn} warned/${c.error} failed` + (c.notice ? `/${c.notice} notices` : '');
    })
    .join(', ');
  const required = misses.filter((m) => m.level === 'MUST' || m.level === 'SHOULD');
  if (required.length) {
    throw new Error(`${required.length} MUST/SHOULD audits missed: ${summary}`);
  }
  return `graphql-http ${audits.length} audits: ${summary}`;
});
