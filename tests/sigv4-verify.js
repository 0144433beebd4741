#!/usr/bin/env node
// Checks a presigned S3 URL the way S3 would, independently of preflight's
// signer: recomputes the signature with the AWS SDK's SigV4 implementation
// (@smithy/signature-v4, what @aws-sdk/client-s3 signs with) from the URL's
// own method, host, path and X-Amz-* parameters and the secret key, and
// checks the expiry. s3rver verifies neither, so the tests ask this.
//
// Usage: AWS_SECRET_ACCESS_KEY=... node sigv4-verify.js METHOD URL [CONTENT_TYPE]
// Prints "valid", "SignatureDoesNotMatch" or "expired"; exit 0 only if valid.
'use strict';
process.removeAllListeners('warning');
process.emitWarning = () => {};
const { SignatureV4 } = require('@smithy/signature-v4');
const crypto = require('crypto');

// The hash interface the signer expects, from Node's own crypto.
class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }
  update(data) { this.h.update(data); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

async function main() {
  const [method, raw, contentType] = process.argv.slice(2);
  const u = new URL(raw);
  const q = Object.fromEntries(u.searchParams);
  const [accessKeyId, date, region, service] = q['X-Amz-Credential'].split('/');
  const t = q['X-Amz-Date'];
  const signingDate = new Date(Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8),
    +t.slice(9, 11), +t.slice(11, 13), +t.slice(13, 15)));
  const expiresIn = Number(q['X-Amz-Expires']);
  if (signingDate.getTime() + expiresIn * 1000 < Date.now()) {
    console.log('expired');
    process.exit(1);
  }
  const query = {};
  for (const [k, v] of u.searchParams)
    if (!k.startsWith('X-Amz-') || k === 'X-Amz-Content-Sha256') query[k] = v;
  // S3 signs presigned URLs over UNSIGNED-PAYLOAD; the signer reads that
  // from this header, which is neither signed nor moved into the query.
  const headers = { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  if (contentType) headers['content-type'] = contentType;
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
                   sessionToken: q['X-Amz-Security-Token'] },
    region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.presign({
    method, protocol: u.protocol, hostname: u.hostname, port: u.port || undefined,
    path: u.pathname, query, headers,
  }, { signingDate, expiresIn,
       unhoistableHeaders: new Set(['content-type', 'x-amz-content-sha256']),
       unsignableHeaders: new Set(['x-amz-content-sha256']) });
  const ok = signed.query['X-Amz-Signature'] === q['X-Amz-Signature'] && date === t.slice(0, 8);
  console.log(ok ? 'valid' : 'SignatureDoesNotMatch');
  process.exit(ok ? 0 : 1);
}
main().catch(e => { console.error(e.message); process.exit(2); });
