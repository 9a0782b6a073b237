import { matrixSuite } from '../../helpers/booted-matrix';

matrixSuite('netplan-all');
