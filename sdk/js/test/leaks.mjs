// Imported last by the run-*.mjs files: a test that leaves a connection or server open would keep
// node running after the last test; report what is open and fail instead of hanging.
import { after } from "node:test";

after(() => {
  setTimeout(() => {
    const open = process._getActiveHandles().map((h) => h.constructor?.name ?? typeof h);
    console.error(`still open 5 s after the last test: ${open.join(", ")}`);
    process.exit(1);
  }, 5000).unref();
});
