// Fetches the test model on machines without ../shared/models (never during tests).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const URL = "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf";
const SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
const target = join("models", "stories260K.gguf");

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

if (existsSync(target) && sha256(readFileSync(target)) === SHA256) {
  console.log(`${target} is already here`);
} else {
  const response = await fetch(URL);
  if (!response.ok) throw new Error(`Download of ${URL} failed: HTTP ${response.status}`);
  const data = Buffer.from(await response.arrayBuffer());
  if (sha256(data) !== SHA256) throw new Error(`Downloaded file has the wrong sha256 (expected ${SHA256})`);
  mkdirSync("models", { recursive: true });
  writeFileSync(target, data);
  console.log(`saved ${target}; run the tests with BELOWZERO_TEST_MODEL=${target}`);
}
