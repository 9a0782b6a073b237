import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eni, instance } from '#local/lab/scenario';
import { describeLab } from '../../helpers/lab-gate';
import { metadata } from '#local/lab/lab-server';
import { createLab, type Lab, subnetGateway } from '#local/lab/vpc-lab';

describe('Function: metadata', () => {
  const inst = instance(
    eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
    eni(2, { device: 1, card: 1, subnet: 1, hosts: [20], withoutEip: [20] }),
  );
  const base = 'network/interfaces/macs/02:ea:00:00:00:01';

  it.each([
    ['mac', '02:ea:00:00:00:01'],
    ['network/interfaces/macs/', '02:ea:00:00:00:01/\n02:ea:00:00:00:02/'],
    [`${base}/local-ipv4s`, '10.0.0.10\n10.0.0.11'],
    [`${base}/ipv4-associations/`, '198.51.100.10\n198.51.100.11'],
    [`${base}/ipv4-associations/198.51.100.11`, '10.0.0.11'],
    ['network/interfaces/macs/02:ea:00:00:00:02/network-card', '1'],
    ['network/interfaces/macs/02:ea:00:00:00:02/ipv4-associations/', undefined],
    ['network/interfaces/macs/02:ea:00:00:00:09/local-ipv4s', undefined],
  ])('serves %s', (path, body) => {
    expect(metadata(inst, path)).toBe(body);
  });

  it('answers garbage addresses in garbage mode', () => {
    expect(metadata(inst, `${base}/local-ipv4s`, true)).toMatch(/300/);
  });
});

describe('Function: subnetGateway', () => {
  it.each([
    ['10.0.1.0/24', '10.0.1.1'],
    ['172.31.32.0/20', '172.31.32.1'],
    ['10.0.1.77/24', '10.0.1.1'],
  ])('%s → %s', (cidr, gw) => {
    expect(subnetGateway(cidr)).toBe(gw);
  });
});

describeLab('Class: Lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab();
    await lab.apply(
      instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11] }), eni(2, { device: 1, subnet: 1, hosts: [20] })),
    );
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('serves IMDSv2 only: 401 without a token, metadata with one', async () => {
    const url = 'http://169.254.169.254/latest/meta-data/mac';
    const without = await lab.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url]);
    expect(without.stdout).toBe('401');
    const script =
      'T=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) && ' +
      `curl -sf -H "X-aws-ec2-metadata-token: $T" ${url}`;
    expect((await lab.exec(['sh', '-c', script])).stdout).toBe('02:ea:00:00:00:01');
  });

  it(
    'gives the guest what the hypervisor and DHCP give: NICs by MAC, eth0 address and default route ' + 'only',
    async () => {
      const links = await lab.exec(['ip', '-o', 'link', 'show']);
      expect(links.stdout).toMatch(/eth0@\S+ .*link\/ether 02:ea:00:00:00:01/);
      expect(links.stdout).toMatch(/eth1@\S+ <BROADCAST,MULTICAST> .*link\/ether 02:ea:00:00:00:02/);
      expect((await lab.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1'])).stdout).toBe('');
      expect((await lab.exec(['ip', '-4', 'route', 'show', 'default'])).stdout.trim()).toBe(
        'default via 10.0.0.1 dev eth0',
      );
    },
  );

  it('NATs a private IP to its EIP, and the VPC drops a source the ENI does not own', async () => {
    expect(await lab.egressIp('10.0.0.10')).toBe('198.51.100.10');
    // 10.0.0.11 is assigned in the VPC but not configured in the guest: curl cannot even bind it.
    expect(await lab.egressIp('10.0.0.11')).toBe('');
    // eth1's own address without source routing leaves through eth0: the VPC's anti-spoofing drops it.
    await lab.exec(['sh', '-ec', 'ip link set eth1 up; ip addr add 10.0.1.20/24 dev eth1 noprefixroute']);
    expect(await lab.egressIp('10.0.1.20')).toBe('');
    const { stdout } = await lab.exec(['ip', 'route', 'get', '192.0.2.80', 'from', '10.0.1.20']);
    expect(stdout).toContain('dev eth0');
  });

  it('switches IMDS down and back', async () => {
    const probe = [
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      '-H',
      'X-aws-ec2-metadata-token-ttl-seconds: 60',
      'http://169.254.169.254/latest/api/token',
    ];
    await lab.setImds('down');
    expect((await lab.exec(probe)).stdout).toBe('000');
    await lab.setImds('ok');
    expect((await lab.exec(probe)).stdout).toBe('200');
  });

  it('keeps guest commands off the host: /run and /etc/systemd/system are per-lab directories', async () => {
    await lab.exec(['sh', '-c', 'echo lab > /run/lab-marker && echo unit > /etc/systemd/system/lab-marker']);
    expect(existsSync('/etc/systemd/system/lab-marker')).toBe(false);
    expect(existsSync(`${lab.runDir}/lab-marker`)).toBe(true);
  });

  it('destroy() deletes its namespaces and is idempotent', async () => {
    const other = await createLab();
    await other.destroy();
    await other.destroy();
    const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(list).not.toContain(other.guestNs);
    expect(list).not.toContain(other.vpcNs);
  });
});
