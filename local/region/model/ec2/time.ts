/** Instance state transitions on the driven clock, and what the region reads of an instance between calls. */
import type { InstanceStateName } from '@aws-sdk/client-ec2';
import type { EniRec, GuestNetwork, InstanceRec } from './records';
import type { Ec2State } from './state';

/** Clock time of the next scheduled state transition, undefined when none is pending (lets a driver skip ahead). */
export function nextTransitionAt(s: Ec2State): number | undefined {
  let next: number | undefined;
  for (const id of s.transitioning) {
    const at = s.instances.get(id)?.next?.at;
    if (at !== undefined && (next === undefined || at < next)) next = at;
  }
  return next;
}

/** Applies every transition that is due at the current clock. */
export function settle(s: Ec2State): void {
  let progressed = true;
  while (progressed) {
    progressed = false;
    const now = s.ctx.now();
    for (const id of [...s.transitioning]) {
      const inst = s.instances.get(id);
      if (!inst?.next) {
        s.transitioning.delete(id);
        continue;
      }
      if (inst.next.at > now) continue;
      const target = inst.next.state;
      inst.next = undefined;
      s.transitioning.delete(id);
      enter(s, inst, target);
      progressed = true;
    }
  }
  expireTerminated(s);
}

function expireTerminated(s: Ec2State): void {
  const now = s.ctx.now();
  let removed = false;
  for (const inst of s.instances.values()) {
    if (
      inst.state === 'terminated' &&
      inst.terminatedAt !== undefined &&
      now - inst.terminatedAt >= s.opts.terminatedVisibleMs
    ) {
      s.instances.delete(inst.id);
      removed = true;
    }
  }
  if (removed) s.order = s.order.filter((id) => s.instances.has(id));
}

function schedule(s: Ec2State, inst: InstanceRec, state: InstanceStateName): void {
  inst.next = { state, at: s.ctx.now() + s.opts.transitionMs };
  s.transitioning.add(inst.id);
}

export function enter(s: Ec2State, inst: InstanceRec, state: InstanceStateName): void {
  inst.state = state;
  const now = s.ctx.now();
  if (state === 'pending') schedule(s, inst, 'running');
  if (state === 'running') inst.runningSince = now;
  if ((state === 'stopping' || state === 'shutting-down') && inst.runningSince !== undefined) {
    inst.longestRunMs = Math.max(inst.longestRunMs, now - inst.runningSince);
    inst.runningSince = undefined;
  }
  if (state === 'stopping') schedule(s, inst, 'stopped');
  if (state === 'shutting-down') schedule(s, inst, 'terminated');
  if (state === 'stopped') inst.transitionReason = `User initiated (${new Date(now).toISOString()})`;
  if (state === 'terminated') {
    inst.terminatedAt = now;
    releaseInstanceEnis(s, inst);
  }
  s.ctx.emit('EC2 Instance State-change Notification', 'aws.ec2', [s.instanceArn(inst.id)], {
    'instance-id': inst.id,
    state,
  });
}

function releaseInstanceEnis(s: Ec2State, inst: InstanceRec): void {
  for (const eni of s.enisOf(inst.id)) {
    if (eni.attachment?.deleteOnTermination) destroyEni(s, eni);
    else s.setAttachment(eni, undefined);
  }
  s.changed({ type: 'network-changed', instanceId: inst.id });
}

export function destroyEni(s: Ec2State, eni: EniRec): void {
  // AWS never releases an EIP for you: the address stays allocated, only its association goes away.
  for (const ip of eni.ips) {
    const allocId = s.eipOnIp.get(`${eni.id}|${ip}`);
    const addr = allocId ? s.addresses.get(allocId) : undefined;
    if (addr) s.disassociate(addr);
    s.ipOwner.delete(ip);
  }
  s.setAttachment(eni, undefined);
  s.enis.delete(eni.id);
}

/** True when the instance is running and its SSM agent would have had time to register. */
export function runningSince(s: Ec2State, instanceId: string): number | undefined {
  return s.instances.get(instanceId)?.runningSince;
}

/**
 * The instance's network as its metadata service shows it: what the VPC lab applies to the guest (NICs, IMDS,
 * 1:1 NAT). Undefined for an unknown instance.
 */
export function guestNetwork(s: Ec2State, instanceId: string): GuestNetwork | undefined {
  if (!s.instances.has(instanceId)) return undefined;
  return {
    instanceId,
    enis: s.enisOf(instanceId).map((eni) => ({
      mac: eni.mac,
      interfaceId: eni.id,
      deviceNumber: eni.attachment?.deviceIndex ?? 0,
      networkCard: 0,
      subnetCidr: s.subnet(eni.subnetId).cidr,
      privateIps: [...eni.ips],
      publicIps: Object.fromEntries(
        eni.ips.flatMap((ip) => {
          const addr = s.eipAt(eni.id, ip);
          return addr ? [[ip, addr.publicIp]] : [];
        }),
      ),
    })),
  };
}

/** Longest time the instance has been running in one stretch, the current one included (0 if never). */
export function longestRun(s: Ec2State, instanceId: string): number {
  const inst = s.instances.get(instanceId);
  if (!inst) return 0;
  const current = inst.runningSince === undefined ? 0 : s.ctx.now() - inst.runningSince;
  return Math.max(inst.longestRunMs, current);
}

/** Current state name of an instance, undefined once it is gone. */
export function state(s: Ec2State, instanceId: string): InstanceStateName | undefined {
  return s.instances.get(instanceId)?.state;
}

/** Primary private IP of an instance (for SSM's DescribeInstanceInformation). */
export function primaryIp(s: Ec2State, instanceId: string): string | undefined {
  return s.enisOf(instanceId).find((e) => e.attachment?.deviceIndex === 0 && !e.attachment.networkCardIndex)?.ips[0];
}

/** Every instance id known (including recently terminated), in launch order. */
export function instanceIds(s: Ec2State): string[] {
  return s.order.filter((id) => s.instances.has(id));
}
