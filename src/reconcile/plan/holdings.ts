import type { ActualState, AddressView } from '../observe';
import { type Action, type RemoveReason, removal, type Slot, slotKey } from './actions';

/** What is ours and where it sits. */
export interface Holdings {
  /** Addresses we hold for this instance (ours, or pool ones we claimed), by allocation id. */
  held: AddressView[];
  /** The instance's private IPs in contract order. */
  slots: Slot[];
  slotByKey: Map<string, Slot>;
  /** Held addresses associated with one of the instance's private IPs, in contract order. */
  placed: AddressView[];
  /** Held addresses associated somewhere that is not this instance. */
  elsewhere: AddressView[];
  /** Slot keys carrying an EIP or public IP that is not ours: never touched, never counted as free. */
  foreign: Set<string>;
}

function isHeld(a: AddressView, actual: ActualState, ourEnis: Set<string>): boolean {
  if (a.managed && a.instanceTag === actual.instanceId) return true;
  if (a.pool === undefined) return false;
  // A pool address is ours while it sits on our ENIs, or while our claim is on it and nobody associated it. One we
  // claimed that is now associated elsewhere was taken by someone else: never pull it back.
  if (a.eniId !== undefined && ourEnis.has(a.eniId)) return true;
  return a.instanceTag === actual.instanceId && !a.associationId;
}

/** Phase 2a (pure): which addresses are ours, where they sit, and which private IPs others use. */
export function holdings(actual: ActualState): Holdings {
  const ourEnis = new Set(actual.enis.map((e) => e.eniId));
  const held = actual.addresses
    .filter((a) => isHeld(a, actual, ourEnis))
    .sort((a, b) => a.allocationId.localeCompare(b.allocationId));
  const slots: Slot[] = actual.enis.flatMap((eni) =>
    eni.privateIps.map((privateIp, n) => ({ eni, privateIp, primary: n === 0, index: 0 })),
  );
  slots.forEach((s, i) => {
    s.index = i;
  });
  const slotByKey = new Map(slots.map((s) => [slotKey(s.eni.eniId, s.privateIp), s]));
  const placed = held
    .filter((a) => a.eniId && a.privateIp && slotByKey.has(slotKey(a.eniId, a.privateIp)))
    .sort(
      (a, b) =>
        (slotByKey.get(slotKey(a.eniId ?? '', a.privateIp ?? ''))?.index ?? 0) -
        (slotByKey.get(slotKey(b.eniId ?? '', b.privateIp ?? ''))?.index ?? 0),
    );
  const placedSet = new Set(placed);
  const elsewhere = held.filter((a) => a.associationId && !placedSet.has(a));
  const foreign = new Set<string>();
  for (const a of actual.addresses) {
    if (!held.includes(a) && a.eniId && a.privateIp && slotByKey.has(slotKey(a.eniId, a.privateIp))) {
      foreign.add(slotKey(a.eniId, a.privateIp));
    }
  }
  for (const eni of actual.enis) for (const ip of eni.ipsWithForeignPublicIp) foreign.add(slotKey(eni.eniId, ip));
  return { held, slots, slotByKey, placed, elsewhere, foreign };
}

/** What stays, what goes, and what is still needed. */
export interface Kept {
  /** Take back addresses of ours associated elsewhere; remove the surplus. */
  actions: Action[];
  /** Placed addresses that stay where they are (each remap can be charged). */
  keep: AddressView[];
  /** Placed addresses beyond `wanted`, from the end of the contract order. */
  surplus: AddressView[];
  /** Held addresses not associated here: the cheapest source for what is needed. */
  spare: AddressView[];
  /** Addresses still to place. */
  need: number;
  /** Private IPs with no EIP of ours kept there and no foreign one. */
  freeSlots: Slot[];
}

/** Phase 2b (pure): keeps the first `wanted` placed addresses, removes the rest, and counts what is missing. */
export function keepAndRemove(h: Holdings, wanted: number, removeReason: RemoveReason): Kept {
  const actions: Action[] = [];
  // Addresses of ours associated somewhere that is not this instance: take them back.
  for (const a of h.elsewhere) {
    actions.push({
      kind: 'disassociate',
      allocationId: a.allocationId,
      associationId: a.associationId ?? '',
      publicIp: a.publicIp,
      reason: 'associated-elsewhere',
    });
  }
  const spare = [...h.held.filter((a) => !a.associationId), ...h.elsewhere];
  // Scale down from the end of the contract order.
  const keep = h.placed.slice(0, wanted);
  const surplus = h.placed.slice(wanted);
  for (const a of surplus) actions.push(...removal(a, removeReason));
  const need = Math.max(0, wanted - keep.length);
  const keptKeys = new Set(keep.map((a) => slotKey(a.eniId ?? '', a.privateIp ?? '')));
  const freeSlots = h.slots.filter(
    (s) => !keptKeys.has(slotKey(s.eni.eniId, s.privateIp)) && !h.foreign.has(slotKey(s.eni.eniId, s.privateIp)),
  );
  return { actions, keep, surplus, spare, need, freeSlots };
}
