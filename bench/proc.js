// Process measurements from /proc (Linux): CPU seconds of a process and all its descendants
// (Artillery may fork), sampled the same way for every contender.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // getconf CLK_TCK on Linux

function statOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state(3) ppid(4) ... utime(14) stime(15) -> rest index = field - 3
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) used so far by pid and every live descendant. */
export function treeCpuSeconds(rootPid) {
  const children = new Map();
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(name);
    if (!s) continue;
    const pid = Number(name);
    stats.set(pid, s);
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const s = stats.get(pid);
    if (s) ticks += s.cpuTicks;
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return ticks / CLK_TCK;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
