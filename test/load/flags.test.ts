import { describe, expect, it } from 'vitest';
import { stagesOverrideWarning } from '../../src/load/flags.js';
import type { LoadSpec } from '../../src/scenario/types.js';

const ramp: LoadSpec = {
  model: 'connections',
  connections: 5,
  stages: [
    { durationMs: 1000, target: 5 },
    { durationMs: 2000, target: 5 },
  ],
  gracefulStopMs: 5000,
};
const openRamp: LoadSpec = {
  model: 'arrival-rate',
  rate: 40,
  stages: [
    { durationMs: 1000, target: 20 },
    { durationMs: 1000, target: 40 },
  ],
  maxConnections: 100,
  gracefulStopMs: 5000,
};

describe('a warning when load flags replace stages', () => {
  it('--duration on a closed ramp: a constant peak for that long', () => {
    expect(stagesOverrideWarning(ramp, { durationMs: 1000 })).toBe(
      "warning: --duration 1s replaces the scenario's 2 stages with a constant 5 connections (their peak) for 1s, without a ramp",
    );
  });

  it('--connections on a closed ramp: that many for the stages\' total', () => {
    expect(stagesOverrideWarning(ramp, { connections: 10 })).toBe(
      "warning: --connections 10 replaces the scenario's 2 stages with a constant 10 connections for 3s, without a ramp",
    );
    expect(stagesOverrideWarning(ramp, { connections: 10, durationMs: 500 })).toBe(
      "warning: --connections 10 and --duration 500ms replace the scenario's 2 stages with a constant 10 connections for 500ms, without a ramp",
    );
  });

  it('open model: --duration flattens to the peak rate; --connections (its cap) leaves the stages', () => {
    expect(stagesOverrideWarning(openRamp, { durationMs: 60_000 })).toBe(
      "warning: --duration 1m replaces the scenario's 2 stages with a constant 40 sessions/s (their peak) for 1m, without a ramp",
    );
    expect(stagesOverrideWarning(openRamp, { connections: 10 })).toBeUndefined();
  });

  it('--rate replaces any staged load; no stages or no flags: nothing to say', () => {
    expect(stagesOverrideWarning(ramp, { rate: 7, durationMs: 2000 })).toMatch(/^warning: --duration 2s and --rate 7 replace the scenario's 2 stages with a constant 7 sessions\/s/);
    expect(stagesOverrideWarning({ model: 'connections', connections: 3, durationMs: 1000, gracefulStopMs: 0 }, { durationMs: 5000 })).toBeUndefined();
    expect(stagesOverrideWarning(ramp, {})).toBeUndefined();
  });
});
