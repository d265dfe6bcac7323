// Khronos glTF validator over .glb files: prints one JSON report per file (issues with
// severity 0 = error, 1 = warning, 2 = info, 3 = hint). Exit 1 when any file has errors.
// usage: node validate.mjs a.glb [b.glb ...]
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import validator from 'gltf-validator';

let failed = false;
const out = [];
for (const file of process.argv.slice(2)) {
  const data = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(data, {
    uri: basename(file),
    maxIssues: 0,
    externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri} not allowed`)),
  });
  const issues = report.issues;
  if (issues.numErrors > 0) failed = true;
  out.push({
    file,
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    numHints: issues.numHints,
    messages: issues.messages.map((m) => ({ code: m.code, severity: m.severity, pointer: m.pointer, message: m.message })),
    info: report.info,
  });
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
process.exit(failed ? 1 : 0);
