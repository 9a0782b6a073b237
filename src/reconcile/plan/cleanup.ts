import type { ActualState, AddressView } from '../observe';
import { type Action, removal, slotKey } from './actions';
import type { Capacity } from './capacity';
import type { Holdings, Kept } from './holdings';

/**
 * Our ENIs for this instance that sit unattached (a run died between create and attach, or between detach and
 * delete) and that no create-eni of this plan re-uses: nothing uses them, so they go.
 */
export function leftoverEniActions(actual: ActualState, reused: ReadonlySet<string> = new Set()): Action[] {
  return (actual.leftoverEnis ?? [])
    .filter((e) => !reused.has(e.eniId))
    .map((e) => ({ kind: 'delete-eni', eniId: e.eniId, attachmentId: undefined, reason: 'eni-not-attached' }));
}

/** Phase 5 for an instance gone from EC2: only unassociated addresses go (an associated one was moved by someone). */
export function cleanupGone(actual: ActualState, held: readonly AddressView[]): Action[] {
  return [
    ...held.filter((a) => !a.associationId).flatMap((a) => removal(a, 'instance-gone')),
    ...leftoverEniActions(actual),
  ];
}

/**
 * Phase 5 (pure): undo what we added that no longer carries an EIP: ENIs we created, secondary IPs we assigned
 * (proved by the assigned-ip tag), and our leftover unattached ENIs. Nothing is undone on a terminating instance
 * (`undoIps` false): EC2 deletes its ENIs and IPs with it. `used` is how many targets got an address.
 */
export function cleanup(
  actual: ActualState,
  h: Holdings,
  kept: Kept,
  cap: Capacity,
  used: number,
  undoIps: boolean,
): Action[] {
  const actions: Action[] = [];
  if (undoIps) {
    const placedTargets = cap.targets.slice(0, used);
    const busyEnis = new Set<string>([
      ...kept.keep.map((a) => a.eniId ?? ''),
      ...placedTargets.flatMap((x) => ('eniId' in x.target ? [x.target.eniId] : [])),
    ]);
    for (const k of h.foreign) busyEnis.add(k.split('/')[0] ?? '');
    const deleted = new Set<string>();
    for (const eni of actual.enis) {
      if (eni.managed && eni.deviceIndex > 0 && eni.attachmentId && !busyEnis.has(eni.eniId)) {
        actions.push({ kind: 'delete-eni', eniId: eni.eniId, attachmentId: eni.attachmentId, reason: 'eni-unused' });
        deleted.add(eni.eniId);
      }
    }
    for (const a of kept.surplus) {
      const slot = h.slotByKey.get(slotKey(a.eniId ?? '', a.privateIp ?? ''));
      if (slot && a.assignedIpTag?.proves && !slot.primary && !deleted.has(slot.eni.eniId)) {
        actions.push({
          kind: 'unassign-private-ip',
          eniId: slot.eni.eniId,
          privateIp: slot.privateIp,
          reason: 'address-removed',
        });
      }
    }
    const reusedIps = new Set(placedTargets.flatMap((x) => ('privateIp' in x.target ? [x.target.privateIp] : [])));
    for (const s of kept.freeSlots) {
      if (cap.ourFreeIps.has(s.privateIp) && !reusedIps.has(s.privateIp) && !deleted.has(s.eni.eniId)) {
        actions.push({
          kind: 'unassign-private-ip',
          eniId: s.eni.eniId,
          privateIp: s.privateIp,
          reason: 'address-removed',
        });
      }
    }
  }
  actions.push(...leftoverEniActions(actual, cap.reused));
  return actions;
}
