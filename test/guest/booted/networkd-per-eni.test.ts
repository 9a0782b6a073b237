import { matrixSuite } from '../../helpers/booted-matrix';

matrixSuite('networkd-per-eni');
