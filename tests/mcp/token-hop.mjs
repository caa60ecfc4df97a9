// A hop in front of the gateway that adds a capability token to every request, as an agent
// runtime does: the MCP conformance suite's client sends none. It forwards everything else
// unchanged (Host and Origin included, so the DNS-rebinding scenario reaches the gateway as
// sent) and streams both ways, so SSE events pass one by one.
// Usage: node token-hop.mjs TARGET_URL   (the token in GATEWAY_TOKEN); prints "listening on PORT".
import http from 'node:http';

const target = new URL(process.argv[2]);
const token = process.env.GATEWAY_TOKEN;
if (!token) {
  console.error('GATEWAY_TOKEN is not set');
  process.exit(2);
}

const server = http.createServer((inbound, outbound) => {
  const headers = { ...inbound.headers, authorization: `Bearer ${token}` };
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: inbound.method, path: inbound.url, headers },
    (answer) => {
      outbound.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outbound);
    });
  upstream.on('error', (error) => {
    if (!outbound.headersSent) {
      outbound.writeHead(502, { 'content-type': 'text/plain' });
    }
    outbound.end(`hop: ${error.message}`);
  });
  outbound.on('close', () => upstream.destroy());
  inbound.pipe(upstream);
});

server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
