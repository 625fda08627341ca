/**
 * Labs in the sidebar: containers labelled `jupyter-ctr.lab=<lab>` grouped by lab, and what
 * a bulk action's per-container results say. Pure functions (unit-tested without a DOM).
 */
import { IContainer } from './model';

/** The bulk actions of `POST /ctr/api/labs/{lab}/{action}`. */
export type LabAction = 'start' | 'stop' | 'reset' | 'remove';

/** One container's result of a bulk action. */
export interface ILabResult {
  Id: string;
  Name: string;
  Owner: string;
  Ok: boolean;
  Error: string;
}

/** A lab as the sidebar shows it. */
export interface ILab {
  name: string;
  containers: number;
  running: number;
}

/** The labs among the listed containers, by name. */
export function groupLabs(containers: Iterable<IContainer>): ILab[] {
  const labs = new Map<string, ILab>();
  for (const c of containers) {
    if (!c.lab) {
      continue;
    }
    const lab = labs.get(c.lab) ?? { name: c.lab, containers: 0, running: 0 };
    lab.containers++;
    if (c.state === 'running') {
      lab.running++;
    }
    labs.set(c.lab, lab);
  }
  return [...labs.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const DONE: Record<LabAction, string> = {
  start: 'Started',
  stop: 'Stopped',
  reset: 'Reset',
  remove: 'Removed'
};

/** One line on what a bulk action did: "Stopped 3 containers of lab1" or
 * "Stopped 2 of 3 containers of lab1; 1 failed". */
export function resultSummary(lab: string, action: LabAction, results: ILabResult[]): string {
  const failed = results.filter(r => !r.Ok).length;
  const done = results.length - failed;
  const plural = results.length === 1 ? 'container' : 'containers';
  if (!failed) {
    return `${DONE[action]} ${results.length} ${plural} of ${lab}`;
  }
  return `${DONE[action]} ${done} of ${results.length} ${plural} of ${lab}; ${failed} failed`;
}

/** The failures, one line each: "name (owner): the engine's message". */
export function failureLines(results: ILabResult[]): string[] {
  return results.filter(r => !r.Ok).map(r => `${r.Name} (${r.Owner}): ${r.Error}`);
}

/** The question asked before a bulk action (none for start). */
export function labConfirmText(lab: ILab, action: LabAction, step = ''): string {
  const n = `${lab.containers} container${lab.containers === 1 ? '' : 's'}`;
  switch (action) {
    case 'stop':
      return `Stop all ${n} of lab ${lab.name}? Every student's container in it stops.`;
    case 'reset':
      return `Reset all ${n} of lab ${lab.name} to step ${step}? Work since that step is lost.`;
    case 'remove':
      return `Remove all ${n} of lab ${lab.name}? Running ones are killed and every file in them is deleted.`;
    default:
      return `Start all ${n} of lab ${lab.name}?`;
  }
}
