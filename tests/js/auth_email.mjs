// The email auth flows, OTP and MFA with the unmodified official PocketBase JS SDK.
//
//   node auth_email.mjs URL DATA_DIR SUPERUSER_EMAIL SUPERUSER_PASSWORD
//
// Tokens and codes are read from the server's dev mailbox (DATA_DIR/mailbox/*.json), the way a
// developer without SMTP would read them. Exits 0 when every step passed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, dataDir, suEmail, suPassword] = process.argv.slice(2);
if (!url || !dataDir || !suEmail || !suPassword) {
    console.error('usage: node auth_email.mjs URL DATA_DIR SUPERUSER_EMAIL SUPERUSER_PASSWORD');
    process.exit(2);
}

const mailbox = join(dataDir, 'mailbox');
const suffix = Math.random().toString(36).slice(2, 8);
const EMAIL = `sdk-mail-${suffix}@example.com`;
const NEW_EMAIL = `sdk-mail-new-${suffix}@example.com`;

let current = '';
async function step(name, fn) {
    current = name;
    await fn();
    console.log(`ok   ${name}`);
}

function messages(to, kind) {
    let names = [];
    try {
        names = readdirSync(mailbox).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    } catch {
        return [];
    }
    return names
        .map((n) => ({ name: n, ...JSON.parse(readFileSync(join(mailbox, n), 'utf8')) }))
        .filter((m) => m.kind === kind && m.to.map((a) => a.toLowerCase()).includes(to.toLowerCase()));
}

/** Runs `request`, then waits for a new `kind` mail to `to` and returns it. */
async function expectMail(to, kind, request) {
    const before = new Set(messages(to, kind).map((m) => m.name));
    await request();
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
        const fresh = messages(to, kind).filter((m) => !before.has(m.name));
        if (fresh.length) return fresh[fresh.length - 1];
        await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`no ${kind} mail to ${to}`);
}

const tokenOf = (msg) => {
    const m = /\/auth\/confirm-[a-z-]+\/([\w-]+\.[\w-]+\.[\w-]+)/.exec(msg.text);
    assert.ok(m, `no token link in: ${msg.text}`);
    return m[1];
};
const codeOf = (msg) => {
    const m = /one-time password is:\s*(\d+)/.exec(msg.text);
    assert.ok(m, `no code in: ${msg.text}`);
    return m[1];
};

async function rejects(promise, status) {
    try {
        await promise;
    } catch (err) {
        assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err}`);
        assert.equal(err.status, status, `status: ${JSON.stringify(err.response)}`);
        return err;
    }
    assert.fail(`expected a ${status} error, the request succeeded`);
}

const su = new PocketBase(url);
su.autoCancellation(false);
const pb = new PocketBase(url);
pb.autoCancellation(false);
let password = 'first-password-1';
let userId = '';

try {
    await step('setup: superuser turns OTP on, a user signs up', async () => {
        await su.collection('_superusers').authWithPassword(suEmail, suPassword);
        const coll = await su.collections.update('users', { otp: { enabled: true } });
        assert.equal(coll.otp.enabled, true);
        const methods = await pb.collection('users').listAuthMethods();
        assert.deepEqual(methods.otp, { enabled: true, duration: 180 });
        const rec = await pb.collection('users').create({ email: EMAIL, password, passwordConfirm: password });
        userId = rec.id;
        assert.equal(rec.verified, false);
    });

    await step('requestVerification + confirmVerification', async () => {
        const msg = await expectMail(EMAIL, 'verification', async () => {
            assert.equal(await pb.collection('users').requestVerification(EMAIL), true);
        });
        assert.equal(await pb.collection('users').confirmVerification(tokenOf(msg)), true);
        assert.equal((await su.collection('users').getOne(userId)).verified, true);
    });

    await step('requestPasswordReset + confirmPasswordReset', async () => {
        await pb.collection('users').authWithPassword(EMAIL, password);
        const oldToken = pb.authStore.token;
        const msg = await expectMail(EMAIL, 'passwordReset', async () => {
            assert.equal(await pb.collection('users').requestPasswordReset(EMAIL), true);
        });
        const token = tokenOf(msg);
        await rejects(pb.collection('users').confirmPasswordReset(token, 'new-password-2', 'mismatch-2'), 400);
        assert.equal(await pb.collection('users').confirmPasswordReset(token, 'new-password-2', 'new-password-2'), true);
        await rejects(pb.collection('users').confirmPasswordReset(token, 'new-password-3', 'new-password-3'), 400);
        // The session from before the reset is over.
        await rejects(pb.send('/api/collections/users/auth-refresh', { method: 'POST', headers: { Authorization: oldToken } }), 401);
        await rejects(pb.collection('users').authWithPassword(EMAIL, password), 400);
        password = 'new-password-2';
        await pb.collection('users').authWithPassword(EMAIL, password);
        assert.ok(pb.authStore.isValid);
    });

    await step('requestEmailChange + confirmEmailChange', async () => {
        await rejects(pb.collection('users').requestEmailChange('not-an-email'), 400);
        const msg = await expectMail(NEW_EMAIL, 'emailChange', async () => {
            assert.equal(await pb.collection('users').requestEmailChange(NEW_EMAIL), true);
        });
        const token = tokenOf(msg);
        await rejects(pb.collection('users').confirmEmailChange(token, 'wrong-password'), 400);
        assert.equal(await pb.collection('users').confirmEmailChange(token, password), true);
        assert.equal(pb.authStore.isValid, false); // the SDK signs out: the old session has ended
        const auth = await pb.collection('users').authWithPassword(NEW_EMAIL, password);
        assert.equal(auth.record.email, NEW_EMAIL);
        assert.equal(auth.record.verified, true);
    });

    await step('requestOTP + authWithOTP', async () => {
        pb.authStore.clear();
        let otpId = '';
        const msg = await expectMail(NEW_EMAIL, 'otp', async () => {
            ({ otpId } = await pb.collection('users').requestOTP(NEW_EMAIL));
        });
        await rejects(pb.collection('users').authWithOTP(otpId, '00000000' === codeOf(msg) ? '11111111' : '00000000'), 400);
        const auth = await pb.collection('users').authWithOTP(otpId, codeOf(msg));
        assert.equal(auth.record.id, userId);
        assert.ok(pb.authStore.isValid);
        await rejects(pb.collection('users').authWithOTP(otpId, codeOf(msg)), 400);
    });

    await step('unknown accounts get the same answers', async () => {
        assert.equal(await pb.collection('users').requestPasswordReset(`ghost-${suffix}@example.com`), true);
        assert.equal(await pb.collection('users').requestVerification(`ghost-${suffix}@example.com`), true);
        const { otpId } = await pb.collection('users').requestOTP(`ghost-${suffix}@example.com`);
        assert.match(otpId, /^[a-z0-9]{15}$/);
        await rejects(pb.collection('users').authWithOTP(otpId, '12345678'), 400);
    });

    await step('MFA: password, then OTP with the mfaId', async () => {
        pb.authStore.clear();
        await su.collections.update('users', { mfa: { enabled: true } });
        const methods = await pb.collection('users').listAuthMethods();
        assert.deepEqual(methods.mfa, { enabled: true, duration: 600 });
        const err = await rejects(pb.collection('users').authWithPassword(NEW_EMAIL, password), 401);
        const mfaId = err.response.mfaId;
        assert.match(mfaId, /^[a-z0-9]{15}$/);
        assert.equal(pb.authStore.isValid, false);
        let otpId = '';
        const msg = await expectMail(NEW_EMAIL, 'otp', async () => {
            ({ otpId } = await pb.collection('users').requestOTP(NEW_EMAIL));
        });
        const auth = await pb.collection('users').authWithOTP(otpId, codeOf(msg), { mfaId });
        assert.equal(auth.record.id, userId);
        assert.ok(pb.authStore.isValid);
        await pb.collection('users').authRefresh(); // a refresh is not a sign-in: no second factor asked
        // The session id is spent.
        pb.authStore.clear();
        const again = await rejects(pb.collection('users').authWithPassword(NEW_EMAIL, password, { mfaId }), 400);
        assert.equal(again.response.message, 'Invalid or expired MFA session.');
        await su.collections.update('users', { mfa: { enabled: false } });
    });

    console.log('all auth email steps passed');
} catch (err) {
    console.error(`FAILED at step: ${current}`);
    console.error(err?.response ? JSON.stringify(err.response) : '', err);
    process.exit(1);
}
