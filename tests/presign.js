#!/usr/bin/env node
// Presigned URLs from the AWS SDK for the tests and the benchmark, for a
// bucket on the s3rver the test started (AWS_ENDPOINT_URL): what a
// provider's upload endpoint would hand out.
// Usage: node presign.js PUT|GET BUCKET KEY [EXPIRES [SIGNING_UNIX_TIME]]
'use strict';
process.removeAllListeners('warning');
process.emitWarning = () => {};
const { S3Client, PutObjectCommand, GetObjectCommand } = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

const [method, Bucket, Key, expires, when] = process.argv.slice(2);
const client = new S3Client({
  region: process.env.AWS_REGION || 'us-east-1',
  endpoint: process.env.AWS_ENDPOINT_URL,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const Command = method === 'PUT' ? PutObjectCommand : GetObjectCommand;
getSignedUrl(client, new Command({ Bucket, Key }), {
  expiresIn: Number(expires || 3600),
  signingDate: when ? new Date(Number(when) * 1000) : undefined,
}).then(url => console.log(url), e => { console.error(e.message); process.exit(2); });
