// The crons API and callable functions through the unmodified official PocketBase JS SDK.
//
//   node crons_functions.mjs URL EMAIL PASSWORD      (a superuser's credentials)
//
// The server runs tests/jobs/test_jobs_js_sdk.py's project: a job `greeter` calling the function
// `greet`. Exits 0 when every step passed.
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';

const [url, email, password] = process.argv.slice(2);
const pb = new PocketBase(url);
pb.autoCancellation(false);

async function step(name, fn) {
    await fn();
    console.log(`ok   ${name}`);
}

await step('a guest may not list crons', async () => {
    await assert.rejects(pb.crons.getFullList(), (e) => e instanceof ClientResponseError && e.status === 401);
});

await step('a guest calls an open function with pb.send', async () => {
    const out = await pb.send('/api/functions/greet', { method: 'POST', body: { name: 'Ann' } });
    assert.deepEqual(out, { hello: 'Ann' });
});

await pb.collection('_superusers').authWithPassword(email, password);

await step('pb.crons.getFullList lists the job', async () => {
    const jobs = await pb.crons.getFullList();
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].id, 'greeter');
    assert.equal(jobs[0].expression, '0 0 1 1 *');
});

await step('pb.crons.run runs it (204 → true)', async () => {
    assert.equal(await pb.crons.run('greeter'), true);
});

await step('pb.crons.run of an unknown job is a 404', async () => {
    await assert.rejects(pb.crons.run('nope'), (e) => e.status === 404 && e.response.message === 'Missing or invalid cron job');
});

await step('the manual run reaches the history', async () => {
    for (let i = 0; i < 300; i++) {
        const page = await pb.send('/api/crons/greeter/runs', {});
        if (page.items.length && page.items[0].status === 'success') {
            assert.equal(page.items[0].output, '{"hello":"job"}');
            return;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('no successful run');
});
