#!/usr/bin/env node
// Compares preflight's presigned URLs with the AWS SDK's presigner
// (@aws-sdk/s3-request-presigner) on the same inputs at the same fixed time.
// Reads JSON lines from stdin, one case each, as `test_sigv4 --sdk-cases`
// prints them: {method, bucket, key, region, endpoint, access_key,
// secret_key, session_token, expires, time, url}. Prints one line per case
// and exits non-zero if any URL differs in any byte.
'use strict';
process.removeAllListeners('warning');   // the SDK's "node >= 22 soon" notice
process.emitWarning = () => {};
const readline = require('readline');
const { S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand } =
  require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

const commands = { PUT: PutObjectCommand, GET: GetObjectCommand, HEAD: HeadObjectCommand };

async function main() {
  const rl = readline.createInterface({ input: process.stdin });
  let n = 0, bad = 0;
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const client = new S3Client({
      region: c.region,
      endpoint: c.endpoint || undefined,
      forcePathStyle: !!c.endpoint,
      credentials: {
        accessKeyId: c.access_key,
        secretAccessKey: c.secret_key,
        sessionToken: c.session_token || undefined,
      },
      // No checksum parameters: a presigned URL is used by other clients.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const sdk = await getSignedUrl(client,
      new commands[c.method]({ Bucket: c.bucket, Key: c.key }),
      { expiresIn: c.expires, signingDate: new Date(c.time * 1000) });
    n++;
    if (sdk === c.url) {
      console.log(`ok ${n} ${c.method} ${c.bucket}/${c.key} (${c.region}${c.endpoint ? ', ' + c.endpoint : ''})`);
    } else {
      bad++;
      console.log(`MISMATCH ${n} ${c.method} ${c.bucket}/${c.key}\n  sdk:       ${sdk}\n  preflight: ${c.url}`);
    }
  }
  console.log(`${n - bad} passed, ${bad} failed`);
  process.exit(bad || n === 0 ? 1 : 0);
}
main().catch(e => { console.error(e); process.exit(2); });
