// The PocketBase run: the calls PocketBase has (tests/sdk_js/test_sdk_js_pocketbase.py).
import "./api.test.mjs";
import "./leaks.mjs";
