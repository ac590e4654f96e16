'use strict';

// Verify the identity assertion ngx_http_validibot_module sends upstream:
// a JWT (compact JWS, HS256) from the gateway's validibot_assertion
// directive (docs/upstream.md).  Node's built-in crypto only.
//
//   const va = require('./validibot-assertion');
//   const keys = va.loadKeys(['/etc/validibot/assertion-2026a.key']);
//   app.use(va.middleware({ keys, audience: 'api.example.com' }));
//   // then req.validibot = { user, org, roles, keyId, claims }

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const DEFAULT_LEEWAY = 30;
const KEY_MIN = 32;
const KID = /^[A-Za-z0-9._-]{1,64}$/;
const B64 = /^[A-Za-z0-9_-]*$/;
const STRINGS = ['iss', 'aud', 'sub', 'kid', 'jti', 'htm', 'htu'];

class InvalidAssertion extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

// [kid, secret] by the module's rules: kid = file name without ".key",
// one trailing newline dropped, at least 32 bytes
function loadKey(file) {
  const name = path.basename(file);
  const kid = name.endsWith('.key') && name.length > 4 ? name.slice(0, -4) : name;
  if (!KID.test(kid)) {
    throw new Error(file + ': the file name is not a valid kid');
  }
  let secret = fs.readFileSync(file);
  if (secret.length && secret[secret.length - 1] === 0x0a) {
    secret = secret.subarray(0, secret.length - 1);
    if (secret.length && secret[secret.length - 1] === 0x0d) {
      secret = secret.subarray(0, secret.length - 1);
    }
  }
  if (secret.length < KEY_MIN || secret.length > 4096) {
    throw new Error(file + ': a key needs 32 to 4096 bytes');
  }
  return [kid, secret];
}

function loadKeys(files) {
  return new Map(files.map(loadKey));
}

function unb64(part) {
  if (!B64.test(part) || part.length % 4 === 1) {
    throw new InvalidAssertion('malformed');
  }
  const raw = Buffer.from(part, 'base64url');
  // one text per byte string, as the module's verifier
  if (raw.toString('base64url') !== part) {
    throw new InvalidAssertion('malformed');
  }
  return raw;
}

function parse(raw) {
  const text = raw.toString('utf8');
  let obj;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new InvalidAssertion('malformed');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new InvalidAssertion('malformed');
  }
  // JSON.parse keeps the last of duplicate members: refuse them instead
  if (memberNames(text).length !== Object.keys(obj).length) {
    throw new InvalidAssertion('malformed');
  }
  return obj;
}

// the member names of the outer object of (valid) JSON text, in order
function memberNames(text) {
  const names = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') {
        j += text[j] === '\\' ? 2 : 1;
      }
      let k = j + 1;
      while (/\s/.test(text[k] || '')) {
        k++;
      }
      if (depth === 1 && text[k] === ':') {
        names.push(JSON.parse(text.slice(i, j + 1)));
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
    }
  }
  return names;
}

// opts: keys (Map or object kid -> secret), audience, issuer, method, path,
// now (Unix seconds), leeway (seconds).  Returns the claims or throws.
function verify(token, opts) {
  const keys = opts.keys instanceof Map ? opts.keys : new Map(Object.entries(opts.keys || {}));
  if (typeof token !== 'string') {
    throw new InvalidAssertion('malformed');
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new InvalidAssertion('malformed');
  }

  const header = parse(unb64(parts[0]));
  if (header.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT')) {
    throw new InvalidAssertion('unsupported algorithm');
  }
  if ('crit' in header) {
    throw new InvalidAssertion('malformed');
  }
  if (typeof header.kid !== 'string' || !keys.has(header.kid)) {
    throw new InvalidAssertion('unknown key id');
  }

  const expected = crypto.createHmac('sha256', keys.get(header.kid))
    .update(parts[0] + '.' + parts[1]).digest();
  let sig;
  try {
    sig = unb64(parts[2]);
  } catch (e) {
    throw new InvalidAssertion('bad signature');
  }
  if (sig.length !== expected.length || !crypto.timingSafeEqual(sig, expected)) {
    throw new InvalidAssertion('bad signature');
  }

  const c = parse(unb64(parts[1]));
  for (const name of STRINGS) {
    if (typeof c[name] !== 'string') {
      throw new InvalidAssertion('missing or mistyped claim');
    }
  }
  for (const name of ['iat', 'exp']) {
    if (!Number.isSafeInteger(c[name])) {
      throw new InvalidAssertion('missing or mistyped claim');
    }
  }
  if ('org' in c && typeof c.org !== 'string') {
    throw new InvalidAssertion('missing or mistyped claim');
  }
  const roles = 'roles' in c ? c.roles : [];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new InvalidAssertion('missing or mistyped claim');
  }

  const now = opts.now !== undefined ? opts.now : Math.floor(Date.now() / 1000);
  const leeway = opts.leeway !== undefined ? opts.leeway : DEFAULT_LEEWAY;
  if (now >= c.exp + leeway) {
    throw new InvalidAssertion('expired');
  }
  if (c.iat > now + leeway) {
    throw new InvalidAssertion('issued in the future');
  }
  const expect = [['issuer', 'iss', 'wrong issuer'], ['audience', 'aud', 'wrong audience'],
    ['method', 'htm', 'wrong method'], ['path', 'htu', 'wrong path']];
  for (const [opt, claim, reason] of expect) {
    if (opts[opt] !== undefined && opts[opt] !== null && c[claim] !== opts[opt]) {
      throw new InvalidAssertion(reason);
    }
  }
  return c;
}

// the path as nginx checked it: percent-decoded, without the query; bytes
// that are not UTF-8 become U+FFFD, as the module writes them
function requestPath(req) {
  const raw = (req.originalUrl || req.url || '').split('?')[0];
  const bytes = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 0x25 && /^[0-9A-Fa-f]{2}$/.test(raw.substr(i + 1, 2))) {
      bytes.push(parseInt(raw.substr(i + 1, 2), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(raw[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// Express-style: (req, res, next).  A valid assertion for this method and
// path sets req.validibot; anything else answers 401 with a JSON body.
function middleware(opts) {
  const header = (opts.header || 'X-Validibot-Assertion').toLowerCase();
  return function validibotAssertion(req, res, next) {
    const token = req.headers[header];
    let claims;
    try {
      if (token === undefined) {
        throw new InvalidAssertion('missing');
      }
      claims = verify(Array.isArray(token) ? '' : token, {
        keys: opts.keys,
        audience: opts.audience,
        issuer: opts.issuer,
        method: req.method,
        path: requestPath(req),
        now: typeof opts.now === 'function' ? opts.now() : opts.now,
        leeway: opts.leeway,
      });
    } catch (e) {
      if (!(e instanceof InvalidAssertion)) {
        return next(e);
      }
      res.statusCode = 401;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ detail: 'Invalid gateway assertion: ' + e.reason,
        code: 'authentication_failed' }));
      return undefined;
    }
    req.validibot = {
      user: claims.sub, org: claims.org, roles: claims.roles || [],
      keyId: claims.kid, claims,
    };
    return next();
  };
}

module.exports = { InvalidAssertion, loadKey, loadKeys, verify, middleware, requestPath };
