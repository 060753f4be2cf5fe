// Opens N graphql-transport-ws sockets to authql, each acknowledged and
// subscribed to securityEvents, and reports when all are open; then waits
// for a line on stdin ("close"), after which it counts how many sockets the
// server closed with 4401 and how long the last one took. Uses the `ws`
// package the clients install (clients/node_modules).
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(new URL('../clients/package.json', import.meta.url));
const WebSocket = require('ws');

const [url, token, n] = [process.argv[2], process.argv[3], Number(process.argv[4] ?? 1000)];
const sockets = [];
const closes = [];
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { securityEvents { type } }' } }));
        resolve(ws);
      } else if (m.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      }
    });
    ws.on('close', (code) => closes.push({ code, at: Date.now() }));
    ws.on('error', reject);
  });
}
const started = Date.now();
for (let i = 0; i < n; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 50); j++) batch.push(open());
  sockets.push(...(await Promise.all(batch)));
}
console.log(`open ${sockets.length} ${Date.now() - started}`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== 'close') continue;
  const revokedAt = Date.now();
  const deadline = revokedAt + 10000;
  while (closes.length < sockets.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const unauthorized = closes.filter((c) => c.code === 4401).length;
  const last = Math.max(...closes.map((c) => c.at)) - revokedAt;
  console.log(`closed ${closes.length} 4401 ${unauthorized} last_ms ${last}`);
  process.exit(0);
}
