// Variable resolvers for serverless.yml, referenced as ${file(infra/resolvers.cjs):<name>}.
//
// Why a JS resolver: the Framework resolves ${...} everywhere in the configuration, including in files pulled in
// with ${file(...)}, and resolves again inside whatever a resolver returns. Bash uses the same syntax, so the guest
// script cannot be included as text. We return the document as a CloudFormation Fn::Join whose pieces are cut
// between "$" and "{": no piece contains "${", nothing is resolved, and CloudFormation joins the pieces back into the
// exact bytes of ssm-documents/guest-sync.yaml (test/stack checks that against the packaged template).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const GUEST_DOCUMENT = path.join(__dirname, '..', 'ssm-documents', 'guest-sync.yaml');

/** Split `text` before every "{" that follows a "$", so that joining the pieces with "" gives `text` back. */
function splitVariableSyntax(text) {
  const pieces = [];
  let start = 0;
  for (let i = text.indexOf('${'); i !== -1; i = text.indexOf('${', i + 1)) {
    pieces.push(text.slice(start, i + 1));
    start = i + 1;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** SSM document Content as an Fn::Join of pieces free of the "${" sequence. */
function guestDocumentContent() {
  const text = fs.readFileSync(GUEST_DOCUMENT, 'utf8');
  return { 'Fn::Join': ['', splitVariableSyntax(text)] };
}

/**
 * IAM condition "the instance carries the count tag key, any value". The key is a parameter, and the Framework
 * resolves variables in values only, never in keys: so the condition object is built here.
 */
async function countTagPresent({ resolveVariable }) {
  const key = await resolveVariable('param:countTagKey');
  return { StringLike: { [`ssm:resourceTag/${key}`]: '*' } };
}

/** IAM condition "the EC2 resource carries the count tag key, any value" (aws:ResourceTag, same reason as above). */
async function countTagOnResource({ resolveVariable }) {
  const key = await resolveVariable('param:countTagKey');
  return { Null: { [`aws:ResourceTag/${key}`]: 'false' } };
}

module.exports = { guestDocumentContent, countTagPresent, countTagOnResource, splitVariableSyntax };
