// The local stack's OpenID provider: node oidc-provider (pinned in
// package.json and package-lock.json) configured as FranceConnect is, so
// that the gateway signs usagers in locally as it will in production.
//
// - FranceConnect's scopes: openid, given_name, family_name, birthdate,
//   gender, birthplace, birthcountry, email; each scope gives the claim of
//   its name (the pivot identity). As FranceConnect does, the claims are
//   given at the userinfo endpoint, to the access token, and not in the ID
//   token (conformIdTokenClaims on: the ID token holds sub and what the
//   protocol needs), so the gateway reads them there.
// - One more scope, mdv_agent, gives mdv_role ("agent") and mdv_site (the
//   France services site) to the France services agents among the test
//   persons; a usager gets neither claim.
// - Authorization code with PKCE (S256) required, a confidential client for
//   the gateway (client_secret_basic), ID tokens signed ES256 with a key
//   made at each start (its kid changes: the gateway must refresh its JWKS).
// - Its own login page, in French, where a tester picks a test person:
//   the stack's seeded persons (the seed file, read again at each page)
//   and persons.json (usagers known to no administration, agents).
// - With MDV_OIDC_FAULTS=on (the test stack only), the login form takes a
//   fault to put in the ID token of that sign-in: wrong_nonce, expired,
//   wrong_audience, wrong_issuer, foreign_key (signed by another key under
//   the same kid), so that tests see the gateway refuse each.
//
// Environment: MDV_OIDC_PORT, MDV_OIDC_ISSUER, MDV_OIDC_CLIENT_ID,
// MDV_OIDC_CLIENT_SECRET_FILE, MDV_OIDC_REDIRECT_URI,
// MDV_OIDC_POST_LOGOUT_URI, MDV_OIDC_PERSONS_FILE, MDV_OIDC_SEED_FILE,
// MDV_OIDC_FAULTS.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    process.stderr.write(`oidc: ${name} is required\n`);
    process.exit(2);
  }
  return v;
};

const PORT = Number(env('MDV_OIDC_PORT'));
const ISSUER = env('MDV_OIDC_ISSUER');
const CLIENT_ID = env('MDV_OIDC_CLIENT_ID', 'mdv-gateway');
const CLIENT_SECRET = fs.readFileSync(env('MDV_OIDC_CLIENT_SECRET_FILE'), 'utf8').trim();
const REDIRECT_URI = env('MDV_OIDC_REDIRECT_URI');
const POST_LOGOUT_URI = env('MDV_OIDC_POST_LOGOUT_URI');
const PERSONS_FILE = env('MDV_OIDC_PERSONS_FILE');
const SEED_FILE = process.env.MDV_OIDC_SEED_FILE || '';
const FAULTS = process.env.MDV_OIDC_FAULTS === 'on';
const FAULT_NAMES = ['wrong_nonce', 'expired', 'wrong_audience', 'wrong_issuer', 'foreign_key'];

const PIVOT_SCOPES = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace',
  'birthcountry', 'email'];
const FRANCE = '99100'; // the COG code of France, FranceConnect's birthcountry

const log = (msg, extra = {}) => process.stdout.write(
  `${JSON.stringify({ ts: new Date().toISOString(), level: 'info', service: 'oidc', msg, ...extra })}\n`,
);

// FranceConnect's sub is an opaque 64-hex-digit id, stable for a person
// and a service provider; here the hash of the person's pivot identity, so
// that it stays the same across restarts of the provider.
const subOf = (p) => crypto.createHash('sha256').update(
  ['mdv-local', p.family_name, p.given_name, p.birthdate, p.gender, p.birthplace,
    p.birthcountry].join('|'),
).digest('hex');

const slug = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
  .replace(/[^a-z0-9]+/g, '.');

// A seeded person (one line of mdv-seed's output) as FranceConnect gives
// one: all given names in one string, the nom de naissance in capitals.
const fromSeed = (s) => ({
  given_name: s.given_names.join(' '),
  family_name: s.family_name.toUpperCase(),
  birthdate: s.birth_date,
  gender: s.sex === 'F' ? 'female' : 'male',
  birthplace: s.birth_place,
  birthcountry: FRANCE,
  email: `${slug(s.given_names[0])}.${slug(s.family_name)}@example.fr`,
  known_to: s.records.map((r) => (typeof r === 'string' ? r : r.service)).filter(Boolean),
});

const readSeed = () => {
  if (!SEED_FILE || !fs.existsSync(SEED_FILE)) return [];
  return fs.readFileSync(SEED_FILE, 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => fromSeed(JSON.parse(l)));
};

// Every test person, by sub; read again each time, so that persons seeded
// after the provider started are there.
const persons = () => {
  const list = [...readSeed(), ...JSON.parse(fs.readFileSync(PERSONS_FILE, 'utf8'))];
  return new Map(list.map((p) => [subOf(p), { ...p, sub: subOf(p) }]));
};

const claimsOf = (p) => {
  const c = {
    sub: p.sub,
    given_name: p.given_name,
    family_name: p.family_name,
    birthdate: p.birthdate,
    gender: p.gender,
    birthplace: p.birthplace,
    birthcountry: p.birthcountry,
    email: p.email,
  };
  if (p.role === 'agent') Object.assign(c, { mdv_role: 'agent', mdv_site: p.site });
  return c;
};

const signingKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = crypto.randomBytes(8).toString('hex');
const privateJwk = { ...signingKey.privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
// A key the provider never publishes, for the foreign_key fault.
const foreignKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'mdv — dites-le-nous une fois',
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [POST_LOGOUT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [privateJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', ...PIVOT_SCOPES, 'mdv_agent'],
  claims: {
    openid: ['sub'],
    ...Object.fromEntries(PIVOT_SCOPES.map((s) => [s, [s]])),
    mdv_agent: ['mdv_role', 'mdv_site'],
  },
  conformIdTokenClaims: true,
  pkce: { required: () => true, methods: ['S256'] },
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const p = persons().get(sub);
    return p && { accountId: sub, claims: async () => claimsOf(p) };
  },
  ttl: { Session: 3600, Interaction: 600, AuthorizationCode: 60, IdToken: 600, AccessToken: 600, Grant: 3600 },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur', `<h1>Une erreur est survenue</h1>
      <p>${escape(out.error)} : ${escape(out.error_description || '')}</p>`);
  },
};

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} — fournisseur d'identité local</title>
<style>body{font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
fieldset{border:1px solid #ccc;margin:1rem 0}label{display:block;padding:.25rem 0}
button{font-size:1rem;padding:.5rem 1rem}</style></head><body><main>${body}</main></body></html>`;
}

async function logoutSource(ctx, form) {
  ctx.body = page('Déconnexion', `<h1>Se déconnecter</h1>
    <p>Voulez-vous vous déconnecter du fournisseur d'identité local ?</p>${form}
    <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Oui, me déconnecter</button>
    <button type="submit" form="op.logoutForm">Non, rester connecté</button>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('Déconnecté', '<h1>Vous êtes déconnecté</h1>');
}

const describe = (p) => {
  const who = `${escape(p.given_name)} ${escape(p.family_name)}, né${p.gender === 'female' ? 'e' : ''} le ${escape(p.birthdate)}`;
  if (p.role === 'agent') return `${who} — agent France services (${escape(p.site)})`;
  const known = p.known_to && p.known_to.length ? `connu${p.gender === 'female' ? 'e' : ''} de : ${p.known_to.map(escape).join(', ')}`
    : 'connu·e d\'aucune administration';
  return `${who} — ${known}`;
};

function loginPage(uid, params) {
  const list = [...persons().values()].map((p, i) => `<label><input type="radio" name="sub" value="${p.sub}"${i === 0 ? ' checked' : ''}>
    ${describe(p)}</label>`).join('\n');
  const scopes = String(params.scope).split(' ').map(escape).join(', ');
  const faults = FAULTS ? `<fieldset><legend>Jeton d'identité altéré (tests)</legend>
    <label><input type="radio" name="fault" value="" checked> aucun</label>
    ${FAULT_NAMES.map((f) => `<label><input type="radio" name="fault" value="${f}"> ${f}</label>`).join('\n')}</fieldset>` : '';
  return page('Connexion', `<h1>Connexion — fournisseur d'identité local</h1>
    <p>Ce fournisseur joue le rôle de FranceConnect pour la pile locale. Choisissez une personne de test.</p>
    <form method="post" action="/interaction/${escape(uid)}/login">
    <fieldset><legend>Personne de test</legend>${list}</fieldset>${faults}
    <p>En continuant, vous autorisez la transmission à « mdv » des données : ${scopes}.</p>
    <button type="submit">Continuer</button></form>`);
}

// The fault chosen at a sign-in, by sub, for the next ID token of that sub.
const pendingFaults = new Map();

async function readForm(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Login and consent in one page: the person picked, every scope asked
// granted (FranceConnect asks for consent on the same screen).
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(details.uid, details.params));
    return;
  }
  const form = await readForm(req);
  const sub = form.get('sub');
  if (!persons().has(sub)) {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Erreur', '<h1>Personne inconnue</h1>'));
    return;
  }
  const fault = form.get('fault') || '';
  if (FAULTS && FAULT_NAMES.includes(fault)) pendingFaults.set(sub, fault);
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  log('signed in', { sub, fault });
  await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

// The token endpoint's answer with the fault of its sub applied to the ID
// token, re-signed by the provider's key (or another, for foreign_key).
async function faulty(body) {
  const answer = JSON.parse(body);
  if (!answer.id_token) return body;
  const claims = decodeJwt(answer.id_token);
  const fault = pendingFaults.get(claims.sub);
  if (!fault) return body;
  pendingFaults.delete(claims.sub);
  const now = Math.floor(Date.now() / 1000);
  if (fault === 'wrong_nonce') claims.nonce = crypto.randomBytes(16).toString('hex');
  if (fault === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (fault === 'wrong_audience') claims.aud = 'another-client';
  if (fault === 'wrong_issuer') claims.iss = 'https://attacker.example';
  const header = decodeProtectedHeader(answer.id_token);
  const key = fault === 'foreign_key' ? foreignKey : await importJWK(privateJwk, 'ES256');
  answer.id_token = await new SignJWT(claims).setProtectedHeader(header).sign(key);
  log('ID token altered', { sub: claims.sub, fault });
  return JSON.stringify(answer);
}

// Buffers what the provider writes for one request, to hand it to faulty
// (node's own end calls writeHead: the originals are put back first).
function withFaults(handler, req, res) {
  const { writeHead, write, end } = res;
  const chunks = [];
  let head = null;
  res.writeHead = (...args) => { head = args; return res; };
  res.write = (c) => { chunks.push(Buffer.from(c)); return true; };
  res.end = (c) => {
    if (c) chunks.push(Buffer.from(c));
    Object.assign(res, { writeHead, write, end });
    faulty(Buffer.concat(chunks).toString('utf8')).then((body) => {
      res.removeHeader('content-length');
      if (head) {
        const headers = head.find((h) => h && typeof h === 'object');
        if (headers) delete headers['content-length'];
        res.writeHead(...head);
      }
      res.end(body);
    });
    return res;
  };
  handler(req, res);
}

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => log('server error', { error: String(err) }));
const callback = provider.callback();

const server = http.createServer((req, res) => {
  const url = new URL(req.url, ISSUER);
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  } else if (url.pathname.startsWith('/interaction/')) {
    interaction(provider, req, res).catch((err) => {
      log('interaction failed', { error: String(err) });
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Erreur', '<h1>Connexion impossible</h1><p>Recommencez depuis le site.</p>'));
    });
  } else if (FAULTS && url.pathname === '/token' && req.method === 'POST') {
    withFaults(callback, req, res);
  } else {
    callback(req, res);
  }
});
server.listen(PORT, '127.0.0.1', () => log('listening', { issuer: ISSUER, kid, faults: FAULTS }));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
