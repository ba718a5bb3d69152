// deploy/kubernetes/ without a cluster: every YAML document parses; Jobs have the structure a
// batch/v1 Job needs (and the Indexed-Job rules for completions, parallelism, per-index
// backoff and pod failure policies); every volume, ConfigMap and claim a pod refers to is
// defined in the same folder; SHARDS agrees with completions; the scenario in the ConfigMap
// loads; and the shell the pods run computes --segment from JOB_COMPLETION_INDEX (run here
// with /bin/sh and a stand-in `volley` that records its arguments).

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadScenario } from '../../src/scenario/load.js';
import { repoRoot, tempDir } from './helpers.js';

const k8sDir = path.join(repoRoot, 'deploy/kubernetes');

type Obj = Record<string, unknown>;

interface Doc {
  file: string;
  value: Obj;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function loadDocs(): Doc[] {
  const docs: Doc[] = [];
  for (const name of readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = readFileSync(path.join(k8sDir, name), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if ('errors' in doc && doc.errors.length > 0) throw new Error(`${name}: ${doc.errors[0]!.message}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue; // an empty document between ---
      if (!isObj(value)) throw new Error(`${name}: a document that is not a mapping`);
      docs.push({ file: name, value });
    }
  }
  return docs;
}

// --- a small structural schema: what the API server would refuse, as a list of problems ---

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const API_VERSIONS: Record<string, string> = {
  Job: 'batch/v1',
  ConfigMap: 'v1',
  PersistentVolumeClaim: 'v1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
};

function at(o: unknown, ...keys: string[]): unknown {
  let cur: unknown = o;
  for (const k of keys) cur = isObj(cur) ? cur[k] : undefined;
  return cur;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/** Problems in the whole folder: every document alone, then references between documents. */
function validateManifests(docs: readonly Doc[]): string[] {
  const problems: string[] = [];
  const byKind = (kind: string): Doc[] => docs.filter((d) => d.value['kind'] === kind);
  const configMaps = new Map(byKind('ConfigMap').map((d) => [String(at(d.value, 'metadata', 'name')), d.value] as const));
  const claims = new Set(byKind('PersistentVolumeClaim').map((d) => String(at(d.value, 'metadata', 'name'))));

  for (const { file, value } of docs) {
    const kind = value['kind'];
    const where = `${file}: ${String(kind)}`;
    if (typeof kind !== 'string' || !(kind in API_VERSIONS)) {
      problems.push(`${file}: unexpected kind ${JSON.stringify(kind)}`);
      continue;
    }
    if (value['apiVersion'] !== API_VERSIONS[kind]) problems.push(`${where}: apiVersion must be ${API_VERSIONS[kind]}`);
    if (kind === 'Kustomization') continue;
    const name = at(value, 'metadata', 'name');
    if (typeof name !== 'string' || !DNS_LABEL.test(name) || name.length > 63) problems.push(`${where}: metadata.name must be a DNS label`);
    if (kind === 'ConfigMap') {
      const data = value['data'];
      if (!isObj(data) || Object.values(data).some((v) => typeof v !== 'string')) problems.push(`${where}: data must map keys to strings`);
    }
    if (kind === 'PersistentVolumeClaim') {
      if (list(at(value, 'spec', 'accessModes')).length === 0) problems.push(`${where}: spec.accessModes is required`);
      if (typeof at(value, 'spec', 'resources', 'requests', 'storage') !== 'string') problems.push(`${where}: spec.resources.requests.storage is required`);
    }
    if (kind === 'Job') problems.push(...validateJob(where, value, configMaps, claims));
  }
  return problems;
}

function validateJob(where: string, job: Obj, configMaps: Map<string, Obj>, claims: Set<string>): string[] {
  const problems: string[] = [];
  const spec = job['spec'];
  if (!isObj(spec)) return [`${where}: spec is required`];
  const pod = at(spec, 'template', 'spec');
  if (!isObj(pod)) return [`${where}: spec.template.spec is required`];

  const restartPolicy = pod['restartPolicy'];
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') problems.push(`${where}: restartPolicy must be Never or OnFailure`);
  const mode = spec['completionMode'] ?? 'NonIndexed';
  if (mode !== 'Indexed' && mode !== 'NonIndexed') problems.push(`${where}: completionMode must be Indexed or NonIndexed`);
  const completions = spec['completions'];
  const parallelism = spec['parallelism'];
  if (mode === 'Indexed' && !isPositiveInt(completions)) problems.push(`${where}: an Indexed Job needs completions (a positive integer)`);
  if (completions !== undefined && !isPositiveInt(completions)) problems.push(`${where}: completions must be a positive integer`);
  if (parallelism !== undefined && !isPositiveInt(parallelism)) problems.push(`${where}: parallelism must be a positive integer`);
  if (isPositiveInt(completions) && isPositiveInt(parallelism) && parallelism > completions) {
    problems.push(`${where}: parallelism ${parallelism} exceeds completions ${completions}`);
  }
  if (spec['backoffLimitPerIndex'] !== undefined) {
    if (mode !== 'Indexed') problems.push(`${where}: backoffLimitPerIndex needs completionMode Indexed`);
    if (restartPolicy !== 'Never') problems.push(`${where}: backoffLimitPerIndex needs restartPolicy Never`);
  }

  const containers = list(pod['containers']);
  if (containers.length === 0) problems.push(`${where}: spec.template.spec.containers must list at least one container`);
  const containerNames = new Set<string>();
  const volumes = new Set<string>();
  for (const v of list(pod['volumes'])) {
    const vname = at(v, 'name');
    if (typeof vname !== 'string' || !DNS_LABEL.test(vname)) problems.push(`${where}: a volume without a valid name`);
    else volumes.add(vname);
    const cm = at(v, 'configMap');
    if (cm !== undefined) {
      const target = configMaps.get(String(at(cm, 'name')));
      if (!target) problems.push(`${where}: volume ${String(vname)} uses ConfigMap ${String(at(cm, 'name'))}, not defined here`);
      const keys = isObj(target?.['data']) ? Object.keys(target['data']) : [];
      for (const item of list(at(cm, 'items'))) {
        if (target && !keys.includes(String(at(item, 'key')))) {
          problems.push(`${where}: volume ${String(vname)} wants key ${String(at(item, 'key'))}, not in ConfigMap ${String(at(cm, 'name'))}`);
        }
      }
    }
    const pvc = at(v, 'persistentVolumeClaim', 'claimName');
    if (pvc !== undefined && !claims.has(String(pvc))) problems.push(`${where}: volume ${String(vname)} claims ${String(pvc)}, not defined here`);
  }

  for (const c of containers) {
    const cname = at(c, 'name');
    const cwhere = `${where}: container ${String(cname)}`;
    if (typeof cname !== 'string' || !DNS_LABEL.test(cname)) problems.push(`${where}: every container needs a name (a DNS label)`);
    else containerNames.add(cname);
    const image = at(c, 'image');
    if (typeof image !== 'string' || image.trim() === '') problems.push(`${cwhere}: image is required`);
    for (const m of list(at(c, 'volumeMounts'))) {
      if (!volumes.has(String(at(m, 'name')))) problems.push(`${cwhere}: mounts volume ${String(at(m, 'name'))}, not in spec.template.spec.volumes`);
      if (typeof at(m, 'mountPath') !== 'string') problems.push(`${cwhere}: a volumeMount without mountPath`);
    }
    const defined = new Set<string>();
    for (const e of list(at(c, 'env'))) {
      const ename = at(e, 'name');
      if (typeof ename !== 'string') {
        problems.push(`${cwhere}: an env entry without a name`);
        continue;
      }
      defined.add(ename);
      const ref = at(e, 'valueFrom', 'configMapKeyRef');
      if (ref !== undefined) {
        const cm = configMaps.get(String(at(ref, 'name')));
        if (!cm) problems.push(`${cwhere}: env ${ename} reads ConfigMap ${String(at(ref, 'name'))}, not defined here`);
        else if (!isObj(cm['data']) || !(String(at(ref, 'key')) in cm['data'])) {
          problems.push(`${cwhere}: env ${ename} reads key ${String(at(ref, 'key'))}, not in ConfigMap ${String(at(ref, 'name'))}`);
        }
      } else if (typeof at(e, 'value') !== 'string' && at(e, 'valueFrom') === undefined) {
        problems.push(`${cwhere}: env ${ename} has neither a string value nor valueFrom`);
      }
    }
    // Every $VAR the shell uses is set by env, by the shell itself, or (Indexed Jobs) by Kubernetes.
    const script = [...list(at(c, 'command')), ...list(at(c, 'args'))].join('\n');
    const assigned = new Set([...script.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
    // $VAR and ${VAR}, and bare names inside arithmetic $(( … )).
    const used = [...script.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    for (const m of script.matchAll(/\$\(\(([^)]*)\)\)/g)) used.push(...(m[1]!.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []));
    for (const v of used) {
      if (defined.has(v) || assigned.has(v)) continue;
      if (v === 'JOB_COMPLETION_INDEX' && mode === 'Indexed') continue;
      problems.push(`${cwhere}: the command uses $${v}, which nothing defines`);
    }
  }

  for (const rule of list(at(spec, 'podFailurePolicy', 'rules'))) {
    if (restartPolicy !== 'Never') problems.push(`${where}: podFailurePolicy needs restartPolicy Never`);
    const target = at(rule, 'onExitCodes', 'containerName');
    if (target !== undefined && !containerNames.has(String(target))) problems.push(`${where}: podFailurePolicy names container ${String(target)}, not in the pod`);
  }
  return problems;
}

// --- the documents themselves ---

const docs = loadDocs();
const jobs = docs.filter((d) => d.value['kind'] === 'Job');
const shardJob = jobs.find((d) => at(d.value, 'spec', 'completionMode') === 'Indexed');
const mergeJob = jobs.find((d) => d !== shardJob);
const settings = docs.find((d) => d.value['kind'] === 'ConfigMap' && at(d.value, 'metadata', 'name') === 'volley-settings');

function containerOf(job: Doc | undefined): Obj {
  const c = list(at(job?.value, 'spec', 'template', 'spec', 'containers'))[0];
  if (!isObj(c)) throw new Error('no container');
  return c;
}

function scriptOf(job: Doc | undefined): string {
  const args = list(at(containerOf(job), 'args'));
  expect(list(at(containerOf(job), 'command'))).toEqual(['/bin/sh', '-c']);
  expect(args).toHaveLength(1);
  return String(args[0]);
}

describe('deploy/kubernetes manifests', () => {
  it('every document parses and passes the structural checks', () => {
    expect(docs.length).toBeGreaterThanOrEqual(5);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('the shard Job is Indexed, runs every shard at once, and SHARDS agrees with completions', () => {
    expect(shardJob, 'an Indexed Job').toBeDefined();
    const spec = shardJob!.value['spec'] as Obj;
    expect(spec['completions']).toBeGreaterThanOrEqual(2);
    // Shards are slices of one load: they must all run at the same time.
    expect(spec['parallelism']).toBe(spec['completions']);
    expect(at(settings?.value, 'data', 'SHARDS')).toBe(String(spec['completions']));
    const script = scriptOf(shardJob);
    expect(script).toContain('JOB_COMPLETION_INDEX');
    expect(script).toMatch(/volley run .*--segment "\$i\/\$SHARDS"/);
    expect(mergeJob, 'a merge Job').toBeDefined();
    expect(scriptOf(mergeJob)).toMatch(/volley merge "\$@" -o /);
  });

  it('kustomization.yaml lists exactly the manifests in the folder', () => {
    const k = docs.find((d) => d.value['kind'] === 'Kustomization');
    const resources = list(at(k?.value, 'resources')).map(String).sort();
    const files = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
    expect(resources).toEqual(files);
  });

  it('the scenario in the ConfigMap loads', () => {
    const cm = docs.find((d) => d.value['kind'] === 'ConfigMap' && at(d.value, 'metadata', 'name') === 'volley-scenario');
    const source = at(cm?.value, 'data', 'scenario.yaml');
    expect(typeof source).toBe('string');
    const res = loadScenario({ file: 'deploy/kubernetes/scenario-configmap.yaml#scenario.yaml', source: String(source) });
    expect(res.ok ? [] : res.problems).toEqual([]);
  });

  it('the checks catch what the API server or the pod would trip on', () => {
    const mutate = (edit: (job: Obj, all: Doc[]) => void): string[] => {
      const copy: Doc[] = JSON.parse(JSON.stringify(docs)) as Doc[];
      const job = copy.find((d) => at(d.value, 'spec', 'completionMode') === 'Indexed')!.value;
      edit(job, copy);
      return validateManifests(copy);
    };
    const spec = (job: Obj): Obj => job['spec'] as Obj;
    const pod = (job: Obj): Obj => at(job, 'spec', 'template', 'spec') as Obj;
    const container = (job: Obj): Obj => list(pod(job)['containers'])[0] as Obj;

    expect(mutate((j) => delete spec(j)['completions'])).toContainEqual(expect.stringContaining('an Indexed Job needs completions'));
    expect(mutate((j) => (spec(j)['parallelism'] = 9))).toContainEqual(expect.stringContaining('parallelism 9 exceeds completions 3'));
    expect(mutate((j) => (pod(j)['restartPolicy'] = 'Always'))).toContainEqual(expect.stringContaining('restartPolicy must be Never or OnFailure'));
    expect(mutate((j) => (pod(j)['restartPolicy'] = 'OnFailure'))).toContainEqual(expect.stringContaining('backoffLimitPerIndex needs restartPolicy Never'));
    expect(mutate((j) => delete spec(j)['completionMode'])).toContainEqual(expect.stringContaining('uses $JOB_COMPLETION_INDEX, which nothing defines'));
    expect(mutate((j) => delete container(j)['image'])).toContainEqual(expect.stringContaining('image is required'));
    expect(mutate((j) => ((list(container(j)['volumeMounts'])[0] as Obj)['name'] = 'nope'))).toContainEqual(expect.stringContaining('mounts volume nope'));
    expect(mutate((j) => ((at(list(pod(j)['volumes'])[0], 'configMap') as Obj)['name'] = 'gone'))).toContainEqual(expect.stringContaining('ConfigMap gone, not defined here'));
    expect(mutate((j) => ((list(at(list(pod(j)['volumes'])[0], 'configMap', 'items'))[0] as Obj)['key'] = 'other.yaml'))).toContainEqual(
      expect.stringContaining('wants key other.yaml'),
    );
    expect(mutate((_j, all) => all.splice(all.findIndex((d) => d.value['kind'] === 'PersistentVolumeClaim'), 1))).toContainEqual(
      expect.stringContaining('claims volley-reports, not defined here'),
    );
    expect(mutate((j) => ((list(container(j)['env'])[0] as Obj)['valueFrom'] = { configMapKeyRef: { name: 'volley-settings', key: 'NOPE' } }))).toContainEqual(
      expect.stringContaining('reads key NOPE'),
    );
    expect(mutate((j) => (container(j)['env'] = list(container(j)['env']).filter((e) => at(e, 'name') !== 'RUN_ID')))).toContainEqual(
      expect.stringContaining('uses $RUN_ID, which nothing defines'),
    );
    expect(mutate((j) => (j['apiVersion'] = 'batch/v2'))).toContainEqual(expect.stringContaining('apiVersion must be batch/v1'));
  });
});

// --- the pods' shell, run for real with a stand-in `volley` ---

function fakeVolley(dir: string, exitCode: number): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  // Records its arguments; for `run`, writes a report where --out points, as volley would.
  writeFileSync(
    path.join(bin, 'volley'),
    `#!/bin/sh
printf '%s\\n' "$@" > "${dir}/args"
if [ "$1" = run ]; then
  while [ "$#" -gt 0 ]; do [ "$1" = --out ] && { mkdir -p "$2"; echo '{}' > "$2/report.json"; }; shift; done
fi
exit ${exitCode}
`,
  );
  chmodSync(path.join(bin, 'volley'), 0o755);
  return bin;
}

function runScript(script: string, env: Record<string, string>, bin: string): { status: number | null; stderr: string } {
  const res = spawnSync('/bin/sh', ['-c', script], {
    env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: res.status, stderr: res.stderr };
}

describe('the pods\' shell', () => {
  it('shard index 1 of 3 runs --segment 2/3 into its own folder, and a failed threshold does not fail the pod', () => {
    const dir = tempDir();
    const reports = path.join(dir, 'reports');
    // The other shards are already up, so the start barrier passes at once.
    mkdirSync(path.join(reports, 'r1'), { recursive: true });
    for (const i of [1, 3]) writeFileSync(path.join(reports, 'r1', `ready-${i}`), '');
    const env = { JOB_COMPLETION_INDEX: '1', SHARDS: '3', RUN_ID: 'r1', REPORTS_DIR: reports, START_BARRIER_SECONDS: '5', SCENARIO: '/scenario/scenario.yaml' };

    const failedThreshold = runScript(scriptOf(shardJob), env, fakeVolley(dir, 1));
    expect(failedThreshold.status, failedThreshold.stderr).toBe(0);
    const args = readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n');
    const shardDir = path.join(reports, 'r1', 'shard-2-of-3');
    expect(args).toEqual(['run', '/scenario/scenario.yaml', '--segment', '2/3', '--out', shardDir, '--quiet', '--no-html']);
    expect(readFileSync(path.join(shardDir, 'exit-code'), 'utf8').trim()).toBe('1');
    expect(existsSync(path.join(reports, 'r1', 'ready-2'))).toBe(true);

    // Invalid input (2) fails the pod with that code, which podFailurePolicy turns into FailJob.
    const invalid = runScript(scriptOf(shardJob), env, fakeVolley(dir, 2));
    expect(invalid.status).toBe(2);
    expect(readFileSync(path.join(shardDir, 'exit-code'), 'utf8').trim()).toBe('2');

    // Could not proceed (3) with its retry still to come: no exit-code, so the merge Job waits
    // for the retry instead of merging the failed attempt; on the last attempt it is final.
    const firstAttempt = runScript(scriptOf(shardJob), { ...env, INDEX_FAILURES: '0' }, fakeVolley(dir, 3));
    expect(firstAttempt.status).toBe(3);
    expect(existsSync(path.join(shardDir, 'exit-code'))).toBe(false);
    const lastAttempt = runScript(scriptOf(shardJob), { ...env, INDEX_FAILURES: '1' }, fakeVolley(dir, 3));
    expect(lastAttempt.status).toBe(3);
    expect(readFileSync(path.join(shardDir, 'exit-code'), 'utf8').trim()).toBe('3');
    // Evicted or interrupted (130) is retried without counting: never final.
    const evicted = runScript(scriptOf(shardJob), { ...env, INDEX_FAILURES: '1' }, fakeVolley(dir, 130));
    expect(evicted.status).toBe(130);
    expect(existsSync(path.join(shardDir, 'exit-code'))).toBe(false);
  });

  it('the merge Job waits for every shard, merges their reports, and its exit code is the verdict', () => {
    const dir = tempDir();
    const run = path.join(dir, 'reports', 'r1');
    for (const i of [1, 2, 3]) {
      mkdirSync(path.join(run, `shard-${i}-of-3`), { recursive: true });
      writeFileSync(path.join(run, `shard-${i}-of-3`, 'report.json'), '{}');
      writeFileSync(path.join(run, `shard-${i}-of-3`, 'exit-code'), '0\n');
    }
    const env = { SHARDS: '3', RUN_ID: 'r1', REPORTS_DIR: path.join(dir, 'reports'), MERGE_WAIT_SECONDS: '0' };
    const res = runScript(scriptOf(mergeJob), env, fakeVolley(dir, 1));
    expect(res.status, res.stderr).toBe(1);
    const args = readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n');
    expect(args).toEqual([
      'merge',
      ...[1, 2, 3].map((i) => path.join(run, `shard-${i}-of-3`, 'report.json')),
      '-o',
      path.join(run, 'merged', 'report.json'),
      '--html',
      path.join(run, 'merged', 'report.html'),
    ]);

    // A shard that never finished: after the wait, the rest is merged and the run is incomplete (3).
    writeFileSync(path.join(dir, 'args'), '');
    rmSync(path.join(run, 'shard-3-of-3'), { recursive: true });
    const partial = runScript(scriptOf(mergeJob), env, fakeVolley(dir, 0));
    expect(partial.status).toBe(3);
    expect(partial.stderr).toContain('only 2 of 3 shards wrote a report');
    expect(readFileSync(path.join(dir, 'args'), 'utf8')).toContain('shard-2-of-3');
  });
});
