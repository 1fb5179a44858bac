// The unmodified PocketBase JS SDK uploads, lists, replaces and deletes files, and fetches them,
// their thumbs and protected files, from a baas server.
//
//   node sdk_files.mjs URL EMAIL PASSWORD COLLECTION PNG_PATH
//
// COLLECTION has `owner` (text), `doc` (a protected single file) and `pub` (up to 3 files), and
// rules that let a user write and read the records they own. Prints the id of the record it
// leaves behind (`left <id> <pub file>`) for the caller to check storage.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import PocketBase from '../js/node_modules/pocketbase/dist/pocketbase.es.mjs';

const [url, email, password, collection, pngPath] = process.argv.slice(2);
const png = readFileSync(pngPath);
const pb = new PocketBase(url);
pb.autoCancellation(false);
const docs = pb.collection(collection);

async function fetchFile(fileUrl) {
    const res = await fetch(fileUrl);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
}

const auth = await pb.collection('users').authWithPassword(email, password);
const owner = auth.record.id;

// -- upload: a plain object with File and Blob values (the SDK turns it into FormData) ------------
const created = await docs.create({
    owner,
    doc: new File([png], 'secret.png', { type: 'image/png' }),
    pub: [new File([png], 'Holiday Photo.png'), new Blob([Buffer.from('hello, files')])],
});
assert.equal(created.owner, owner);
assert.match(created.doc, /^secret_[a-z0-9]{10}\.png$/);
assert.equal(created.pub.length, 2);
assert.match(created.pub[0], /^holiday_photo_[a-z0-9]{10}\.png$/);
console.log('ok   create with File and Blob');

const form = new FormData();
form.append('owner', owner);
form.append('pub', new Blob([png], { type: 'image/png' }), 'from-form.png');
const fromForm = await docs.create(form);
assert.match(fromForm.pub[0], /^from_form_[a-z0-9]{10}\.png$/);
console.log('ok   create with FormData');

const list = await docs.getFullList();
assert.deepEqual(list.map((r) => r.id).sort(), [created.id, fromForm.id].sort());
const record = await docs.getOne(created.id);
assert.deepEqual(record.pub, created.pub);
console.log('ok   list and view');

// -- fetch: getURL, thumbs, download, protected files -------------------------------------------
const [image, text] = record.pub;
const original = await fetchFile(pb.files.getURL(record, image));
assert.equal(original.res.status, 200);
assert.equal(original.res.headers.get('content-type'), 'image/png');
assert.ok(original.body.equals(png), 'the stored bytes come back');
const blobText = await fetchFile(pb.files.getURL(record, text));
assert.equal(blobText.body.toString(), 'hello, files');
console.log('ok   getURL');

const thumb = await fetchFile(pb.files.getURL(record, image, { thumb: '100x100' }));
assert.equal(thumb.res.status, 200);
assert.equal(thumb.res.headers.get('content-disposition'), `inline; filename="100x100_${image}"`);
assert.notEqual(thumb.body.length, original.body.length);
console.log('ok   thumb');

const download = await fetchFile(pb.files.getURL(record, image, { download: true }));
assert.match(download.res.headers.get('content-disposition'), /^attachment;/);
console.log('ok   download');

const denied = await fetchFile(pb.files.getURL(record, record.doc));
assert.equal(denied.res.status, 404);
const token = await pb.files.getToken();
assert.ok(token.split('.').length === 3, 'a JWT');
const allowed = await fetchFile(pb.files.getURL(record, record.doc, { token }));
assert.equal(allowed.res.status, 200);
assert.equal(allowed.res.headers.get('content-type'), 'image/png');
console.log('ok   protected file with files.getToken()');

// -- replace, add, remove -------------------------------------------------------------------------
const replaced = await docs.update(record.id, { doc: new File([png], 'second.png') });
assert.match(replaced.doc, /^second_[a-z0-9]{10}\.png$/);
assert.equal((await fetchFile(pb.files.getURL(record, record.doc, { token }))).res.status, 404);
assert.equal((await fetchFile(pb.files.getURL(replaced, replaced.doc, { token }))).res.status, 200);
console.log('ok   replace a file');

const added = await docs.update(record.id, { 'pub+': new File([png], 'third.png') });
assert.equal(added.pub.length, 3);
assert.deepEqual(added.pub.slice(0, 2), record.pub);
const removed = await docs.update(record.id, { 'pub-': [text] });
assert.deepEqual(removed.pub, [image, added.pub[2]]);
assert.equal((await fetchFile(pb.files.getURL(record, text))).res.status, 404);
console.log('ok   add with pub+ and remove with pub-');

await assert.rejects(
    docs.update(record.id, { pub: [new File([png], 'a.png'), new File([png], 'b.png'), new File([png], 'c.png'),
                                   new File([png], 'd.png')] }),
    (err) => err.status === 400 && err.response.data.pub.code === 'validation_too_many_files');
console.log('ok   too many files refused');

// -- batch with files -------------------------------------------------------------------------
const batch = pb.createBatch();
batch.collection(collection).create({ owner, pub: new File([png], 'batched.png') });
batch.collection(collection).update(fromForm.id, { 'pub+': new File([png], 'more.png') });
const results = await batch.send();
assert.equal(results.length, 2);
assert.match(results[0].body.pub[0], /^batched_[a-z0-9]{10}\.png$/);
assert.equal(results[1].body.pub.length, 2);
console.log('ok   batch with files');

// -- delete -------------------------------------------------------------------------------------
await docs.delete(record.id);
assert.equal((await fetchFile(pb.files.getURL(record, image))).res.status, 404);
await docs.delete(results[0].body.id);
console.log('ok   delete');
console.log(`left ${fromForm.id} ${results[1].body.pub.join(',')}`);
