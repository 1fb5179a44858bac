// The baas run: every test file in one node process (tests/sdk_js/test_sdk_js.py).
import "./offline.test.mjs";
import "./api.test.mjs";
import "./baas.test.mjs";
import "./leaks.mjs";
