#!/usr/bin/env node
// Starts s3rver (an S3 implementation in Node) on 127.0.0.1 for the upload
// tests and the benchmark, on a port the kernel picks, with the bucket
// "pf-test". Its one account is S3RVER / S3RVER. It checks that a presigned
// URL names that key and has not expired; it does not verify SigV4
// signatures, which the tests check separately (sigv4-vectors, the AWS SDK).
//
// Usage: node s3rver.js --dir DIR --port-file FILE [--max-seconds N]
'use strict';
const fs = require('fs');
const S3rver = require('s3rver');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.dir || !args['port-file']) {
  console.error('usage: node s3rver.js --dir DIR --port-file FILE [--max-seconds N]');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: args.dir,
  silent: true,
  configureBuckets: [{ name: 'pf-test' }],
});

// A test that dies never leaves the server running.
setTimeout(() => process.exit(0), 1000 * Number(args['max-seconds'] || 300)).unref();
process.on('SIGTERM', () => process.exit(0));

server.run().then(({ port }) => {
  const tmp = `${args['port-file']}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, `${port}\n`);
  fs.renameSync(tmp, args['port-file']);   // readers never see half a number
}, err => {
  console.error(`s3rver: ${err.message}`);
  process.exit(2);
});
