// OAuth2 sign-in with the unmodified official PocketBase JS SDK against a baas server and a real
// local OAuth2/OIDC provider (tests/auth/oidc_provider.py, started by the Python test).
//
//   node oauth2.mjs URL EMAIL PASSWORD IDP_URL CLIENT_ID CLIENT_SECRET
//
// The browser's part (open the provider's authURL, come back with ?code=&state=) is a fetch that
// does not follow the provider's redirect. Exits 0 when every step passed, 1 otherwise.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password, idpUrl, clientId, clientSecret] = process.argv.slice(2);
if (!url || !email || !password || !idpUrl || !clientId || !clientSecret) {
    console.error('usage: node oauth2.mjs URL EMAIL PASSWORD IDP_URL CLIENT_ID CLIENT_SECRET');
    process.exit(2);
}

const redirectURL = `${url}/api/oauth2-redirect`;
let current = '';
async function step(name, fn) {
    current = name;
    await fn();
    console.log(`ok   ${name}`);
}

/** What the browser does with a provider entry of listAuthMethods(): a code for our redirect URL. */
async function authorize(provider) {
    const res = await fetch(provider.authURL + encodeURIComponent(redirectURL), { redirect: 'manual' });
    assert.equal(res.status, 302, `authorize answered ${res.status}: ${await res.text()}`);
    const back = new URL(res.headers.get('location'));
    assert.equal(`${back.origin}${back.pathname}`, redirectURL);
    assert.equal(back.searchParams.get('state'), provider.state, 'the state must come back unchanged');
    return back.searchParams.get('code');
}

async function oidcProvider(pb) {
    const methods = await pb.collection('users').listAuthMethods();
    assert.equal(methods.oauth2.enabled, true);
    const provider = methods.oauth2.providers.find((p) => p.name === 'oidc');
    assert.ok(provider, JSON.stringify(methods.oauth2));
    assert.equal(provider.codeChallengeMethod, 'S256');
    assert.ok(provider.authURL.endsWith('redirect_uri='));
    assert.ok(!JSON.stringify(methods).includes(clientSecret), 'the client secret must never be served');
    return provider;
}

try {
    const admin = new PocketBase(url);
    await step('superuser enables OAuth2 on users (collections API)', async () => {
        await admin.collection('_superusers').authWithPassword(email, password);
        const users = await admin.collections.update('users', {
            oauth2: {
                enabled: true,
                mappedFields: { id: '', name: 'name', username: '', avatarURL: '' },
                providers: [{
                    name: 'oidc', clientId, clientSecret, displayName: 'Local IdP',
                    authURL: `${idpUrl}/authorize`, tokenURL: `${idpUrl}/token`, userInfoURL: `${idpUrl}/userinfo`,
                }],
            },
        });
        assert.equal(users.oauth2.enabled, true);
    });

    const pb = new PocketBase(url);
    pb.autoCancellation(false);
    let firstId = '';

    await step('listAuthMethods + authorize + authWithOAuth2Code signs up', async () => {
        const provider = await oidcProvider(pb);
        assert.equal(provider.displayName, 'Local IdP');
        const code = await authorize(provider);
        const auth = await pb.collection('users').authWithOAuth2Code(
            'oidc', code, provider.codeVerifier, redirectURL, { emailVisibility: true });
        assert.ok(pb.authStore.isValid);
        assert.equal(pb.authStore.token, auth.token);
        assert.equal(pb.authStore.record.email, 'ada@example.com');
        assert.equal(pb.authStore.record.name, 'Ada Lovelace');
        assert.equal(pb.authStore.record.verified, true);
        assert.equal(pb.authStore.record.emailVisibility, true);
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.meta.id, 'u-1001');
        assert.ok(auth.meta.accessToken);
        firstId = auth.record.id;
    });

    await step('authRefresh with the OAuth2 token', async () => {
        const refreshed = await pb.collection('users').authRefresh();
        assert.equal(refreshed.record.id, firstId);
    });

    await step('signing in again finds the same record', async () => {
        pb.authStore.clear();
        const provider = await oidcProvider(pb);
        const auth = await pb.collection('users').authWithOAuth2Code(
            'oidc', await authorize(provider), provider.codeVerifier, redirectURL);
        assert.equal(auth.record.id, firstId);
        assert.equal(auth.meta.isNew, false);
        assert.equal(pb.authStore.record.id, firstId);
    });

    await step('a wrong PKCE verifier is refused and leaves the store empty', async () => {
        pb.authStore.clear();
        const provider = await oidcProvider(pb);
        const code = await authorize(provider);
        try {
            await pb.collection('users').authWithOAuth2Code('oidc', code, 'x'.repeat(43), redirectURL);
            assert.fail('expected a 400');
        } catch (err) {
            assert.ok(err instanceof ClientResponseError, String(err));
            assert.equal(err.status, 400);
            assert.equal(err.response.message, 'Failed to fetch OAuth2 token.');
        }
        assert.equal(pb.authStore.isValid, false);
    });

    await step('an unknown provider is a validation error', async () => {
        try {
            await pb.collection('users').authWithOAuth2Code('nope', 'code', 'v', redirectURL);
            assert.fail('expected a 400');
        } catch (err) {
            assert.equal(err.status, 400);
            assert.equal(err.response.data.provider.code, 'validation_invalid_provider');
        }
    });

    console.log('all OAuth2 SDK steps passed');
} catch (err) {
    console.error(`FAIL ${current}`);
    console.error(err && err.stack ? err.stack : err);
    if (err instanceof ClientResponseError) {
        console.error(JSON.stringify(err.response));
    }
    process.exit(1);
}
