"""A plain openai app with no OpenTelemetry code, for test/images/bundles.it.test.ts.

    python3 test/images/plain_chat.py      (LLM_BASE_URL ending in /v1)

Calls chat completions once and prints one JSON line. Any span comes from the instrumentation bundle the
pod's PYTHONPATH loads (its sitecustomize.py), flushed by the SDK when the interpreter exits.
"""

import json
import os

import openai

client = openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="mock-key", max_retries=0)
res = client.chat.completions.create(
    model="mock-gpt", messages=[{"role": "user", "content": "What is the capital of France?"}]
)
print(json.dumps({"content": res.choices[0].message.content, "model": res.model}))
