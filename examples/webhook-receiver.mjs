// A sample receiver for the webhook driver: verifies X-Flightdeck-Signature, then "deploys".
// DEPLOY_HOOK_SECRET=... node examples/webhook-receiver.mjs   (listens on 127.0.0.1:8088)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.DEPLOY_HOOK_SECRET;
if (!secret) throw new Error('set DEPLOY_HOOK_SECRET to the same value Flightdeck uses');

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    const given = Buffer.from(req.headers['x-flightdeck-signature'] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401).end('bad signature');
      return;
    }
    const job = JSON.parse(body.toString('utf8'));
    console.log(`deploying ${job.service} ${job.version} to ${job.environment} (was ${job.previous_version})`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
}).listen(8088, '127.0.0.1', () => console.log('webhook receiver on http://127.0.0.1:8088/hook'));
