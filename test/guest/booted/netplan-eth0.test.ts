import { matrixSuite } from '../../helpers/booted-matrix';

matrixSuite('netplan-eth0');
