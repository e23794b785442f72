// The machine a result was measured on: results from different machines are not comparable.
import os from 'node:os';
import fs from 'node:fs';

export function machineInfo(dir) {
  const cpus = os.cpus();
  let fsType = null;
  try {
    // The filesystem holding the temp databases: fsync cost depends on it.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((l) => l.split(' '));
    const best = mounts.filter(([, mp]) => dir.startsWith(mp)).sort((a, b) => b[1].length - a[1].length)[0];
    if (best) fsType = `${best[2]} on ${best[0]} (${best[1]})`;
  } catch {}
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    tempFilesystem: fsType,
  };
}
