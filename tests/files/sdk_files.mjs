// The unmodified PocketBase JS SDK fetches files, thumbs and protected files from a baas server.
//
//   node sdk_files.mjs URL EMAIL PASSWORD COLLECTION RECORD_ID
//
// The record (readable by the user) holds a public PNG in `pub` and a protected PNG in `doc`.
import assert from 'node:assert/strict';
import PocketBase from '../js/node_modules/pocketbase/dist/pocketbase.es.mjs';

const [url, email, password, collection, recordId] = process.argv.slice(2);
const pb = new PocketBase(url);
pb.autoCancellation(false);

async function fetchFile(fileUrl) {
    const res = await fetch(fileUrl);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
}

await pb.collection('users').authWithPassword(email, password);
const record = await pb.collection(collection).getOne(recordId);
const [image] = record.pub;
assert.ok(image && record.doc, 'the record holds a public and a protected file');

const original = await fetchFile(pb.files.getURL(record, image));
assert.equal(original.res.status, 200);
assert.equal(original.res.headers.get('content-type'), 'image/png');
assert.equal(original.body.subarray(1, 4).toString(), 'PNG');
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
