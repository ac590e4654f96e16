'use strict';

// Test driver for t/013-assertion.t: checks assertions with
// verifiers/node/validibot-assertion.js, verify() and the middleware.
// Each stdin line, tab-separated: NOW METHOD RAW_URI KEYFILE[,KEYFILE...] AUDIENCE TOKEN;
// each output line: "ok sub=S org=O roles=R" or the reason it was refused.

const path = require('path');
const va = require(path.join(__dirname, '..', '..', 'verifiers', 'node',
  'validibot-assertion.js'));

const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l);

for (const line of lines) {
  const [now, method, p, files, audience, token] = line.split('\t');
  const keys = va.loadKeys(files.split(','));

  // as an Express app would call it: a request, a response, next()
  const req = { method, url: p, headers: { 'x-validibot-assertion': token } };
  const res = {
    statusCode: 200,
    setHeader() {},
    end(body) { this.body = body; },
  };
  let passed = false;
  va.middleware({ keys, audience, now: Number(now), leeway: 30 })(req, res,
    (err) => { passed = !err; });

  if (passed && res.statusCode === 200) {
    const v = req.validibot;
    console.log('ok sub=' + v.user + ' org=' + (v.org || '-') + ' roles='
      + (v.claims.roles ? v.roles.join(',') : '-'));
  } else {
    console.log(JSON.parse(res.body).detail.replace(/^Invalid gateway assertion: /, '')
      + (res.statusCode === 401 ? '' : ' (status ' + res.statusCode + ')'));
  }
}
