"""Fuzz the real binary against its own /openapi.json with schemathesis (a peer's API fuzzer):
no server errors, only documented statuses, the documented content types and schemas.
Usage: python .ci/schemathesis.py PATH_TO_STORYMIMI_BINARY PATH_TO_ST"""
import json, os, subprocess, sys, tempfile, time, urllib.request

binary, st = sys.argv[1], sys.argv[2]
data = tempfile.mkdtemp()
env = dict(os.environ, STORYMIMI_ENV="production", STORYMIMI_JWT_SECRET="schemathesis-secret-0123456789abcdef",
           STORYMIMI_ADDR="127.0.0.1:0", STORYMIMI_DATA_DIR=data, STORYMIMI_NARRATOR="none",
           STORYMIMI_LOG="warn,storymimi::startup=info", STORYMIMI_CONFIG=os.path.join(data, "none.toml"),
           STORYMIMI_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS="1000000",
           STORYMIMI_LOGIN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT="1000000",
           STORYMIMI_REGISTRATIONS_PER_MINUTE_PER_ADDRESS="1000000",
           STORYMIMI_MAX_STORIES_IN_FLIGHT_PER_USER="1000000")
server = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    base = None
    for line in server.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "storymimi listening":
            base = "http://" + event["addr"]
            break
    assert base, "the server did not start"
    body = json.dumps({"email": "fuzz@example.com", "password": "correct horse battery"}).encode()
    request = urllib.request.Request(base + "/auth/register", data=body, headers={"content-type": "application/json"})
    token = json.load(urllib.request.urlopen(request))["access_token"]
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
    result = subprocess.run([st, "run", base + "/openapi.json", "--url", base, "--checks", checks,
                             "--header", f"Authorization: Bearer {token}", "--max-examples", "30",
                             # A fixed seed: a red run can be replayed; change it to explore further.
                             "--seed", "20261201",
                             "--suppress-health-check", "all"])
    sys.exit(result.returncode)
finally:
    server.kill()
