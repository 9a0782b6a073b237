/**
 * Network limits per instance type, as `DescribeInstanceTypes` → `NetworkInfo` reports them
 * (`Ipv4AddressesPerInterface` includes the primary address). Values from the EC2 User Guide table
 * "IP addresses per network interface per instance type". Types with several network cards split `maxEnis` evenly
 * between them (`NetworkCards[]`), as p4d.24xlarge does (4 cards x 15).
 */
export interface TypeSpec {
  /** The instance total (`MaximumNetworkInterfaces`). */
  maxEnis: number;
  /** `MaximumNetworkCards` (default 1). */
  networkCards?: number;
  ipv4PerEni: number;
  ipv6PerEni: number;
  vcpus: number;
  memoryMiB: number;
  networkPerformance: string;
}

export const INSTANCE_TYPES: Readonly<Record<string, TypeSpec>> = {
  't2.micro': {
    maxEnis: 2,
    ipv4PerEni: 2,
    ipv6PerEni: 2,
    vcpus: 1,
    memoryMiB: 1024,
    networkPerformance: 'Low to Moderate',
  },
  't3.nano': {
    maxEnis: 2,
    ipv4PerEni: 2,
    ipv6PerEni: 2,
    vcpus: 2,
    memoryMiB: 512,
    networkPerformance: 'Up to 5 Gigabit',
  },
  't3.micro': {
    maxEnis: 2,
    ipv4PerEni: 2,
    ipv6PerEni: 2,
    vcpus: 2,
    memoryMiB: 1024,
    networkPerformance: 'Up to 5 Gigabit',
  },
  't3.small': {
    maxEnis: 3,
    ipv4PerEni: 4,
    ipv6PerEni: 4,
    vcpus: 2,
    memoryMiB: 2048,
    networkPerformance: 'Up to 5 Gigabit',
  },
  't3.medium': {
    maxEnis: 3,
    ipv4PerEni: 6,
    ipv6PerEni: 6,
    vcpus: 2,
    memoryMiB: 4096,
    networkPerformance: 'Up to 5 Gigabit',
  },
  't3.large': {
    maxEnis: 3,
    ipv4PerEni: 12,
    ipv6PerEni: 12,
    vcpus: 2,
    memoryMiB: 8192,
    networkPerformance: 'Up to 5 Gigabit',
  },
  'm5.large': {
    maxEnis: 3,
    ipv4PerEni: 10,
    ipv6PerEni: 10,
    vcpus: 2,
    memoryMiB: 8192,
    networkPerformance: 'Up to 10 Gigabit',
  },
  'm5.xlarge': {
    maxEnis: 4,
    ipv4PerEni: 15,
    ipv6PerEni: 15,
    vcpus: 4,
    memoryMiB: 16384,
    networkPerformance: 'Up to 10 Gigabit',
  },
  'c5.large': {
    maxEnis: 3,
    ipv4PerEni: 10,
    ipv6PerEni: 10,
    vcpus: 2,
    memoryMiB: 4096,
    networkPerformance: 'Up to 10 Gigabit',
  },
  'c5.xlarge': {
    maxEnis: 4,
    ipv4PerEni: 15,
    ipv6PerEni: 15,
    vcpus: 4,
    memoryMiB: 8192,
    networkPerformance: 'Up to 10 Gigabit',
  },
  'c5.4xlarge': {
    maxEnis: 8,
    ipv4PerEni: 30,
    ipv6PerEni: 30,
    vcpus: 16,
    memoryMiB: 32768,
    networkPerformance: 'Up to 10 Gigabit',
  },
  'p4d.24xlarge': {
    maxEnis: 60,
    networkCards: 4,
    ipv4PerEni: 50,
    ipv6PerEni: 50,
    vcpus: 96,
    memoryMiB: 1179648,
    networkPerformance: '4x 100 Gigabit',
  },
  'm5.24xlarge': {
    maxEnis: 15,
    ipv4PerEni: 50,
    ipv6PerEni: 50,
    vcpus: 96,
    memoryMiB: 393216,
    networkPerformance: '25 Gigabit',
  },
};
