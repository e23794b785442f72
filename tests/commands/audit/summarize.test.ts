import { describe, expect, it } from 'vitest';
import { summarizeChanges } from '../../../src/commands/audit/audit.js';

describe('summarizeChanges', () => {
  it('shows edits as from → to, with (none) for an unset end', () => {
    expect(summarizeChanges({ value: { from: null, to: 'Y' } })).toBe('value: (none) → Y');
    expect(summarizeChanges({ value: { from: '4', to: null } })).toBe('value: 4 → (none)');
    expect(summarizeChanges({ name: { from: 'Old', to: 'New' }, helper: { from: 0, to: 1 } })).toBe('name: Old → New, helper: 0 → 1');
  });

  it('shows plain values as they are, and objects that are not edits as JSON', () => {
    expect(summarizeChanges({ name: 'HQ', apiKey: 'changed' })).toBe('name: HQ, apiKey: changed');
    expect(summarizeChanges({ unit: { id: 1, name: 'HQ' } })).toBe('unit: {"id":1,"name":"HQ"}');
    expect(summarizeChanges('not json at all')).toBe('not json at all');
    expect(summarizeChanges({})).toBe('');
  });
});
