// The children of each kind of Binaryen expression, in the order Wasm evaluates them, with a way to
// replace each one. Binaryen's JS API has a class per expression kind with getX/setX accessors; this
// table names them. Kinds the counter does not know make it refuse the module (rather than miscount).
import binaryen from 'binaryen';

type Ref = number;

export interface ChildSlot {
  readonly get: () => Ref;
  readonly set: (child: Ref) => void;
}

type Accessors = Record<string, (e: Ref) => Ref>;
const klass = (name: string): Accessors => (binaryen as unknown as Record<string, Accessors>)[name]!;

/** Expression kinds whose children are named fields (evaluation order), by Binaryen class. */
const FIELDS: Record<string, readonly string[]> = {
  If: ['Condition'],
  Loop: [],
  Break: ['Value', 'Condition'],
  Switch: ['Value', 'Condition'],
  LocalGet: [],
  LocalSet: ['Value'],
  GlobalGet: [],
  GlobalSet: ['Value'],
  Load: ['Ptr'],
  Store: ['Ptr', 'Value'],
  AtomicRMW: ['Ptr', 'Value'],
  AtomicCmpxchg: ['Ptr', 'Expected', 'Replacement'],
  AtomicWait: ['Ptr', 'Expected', 'Timeout'],
  AtomicNotify: ['Ptr', 'NotifyCount'],
  AtomicFence: [],
  SIMDExtract: ['Vec'],
  SIMDReplace: ['Vec', 'Value'],
  SIMDShuffle: ['Left', 'Right'],
  SIMDTernary: ['A', 'B', 'C'],
  SIMDShift: ['Vec', 'Shift'],
  SIMDLoad: ['Ptr'],
  SIMDLoadStoreLane: ['Ptr', 'Vec'],
  MemoryInit: ['Dest', 'Offset', 'Size'],
  DataDrop: [],
  MemoryCopy: ['Dest', 'Source', 'Size'],
  MemoryFill: ['Dest', 'Value', 'Size'],
  Const: [],
  Unary: ['Value'],
  Binary: ['Left', 'Right'],
  Select: ['IfTrue', 'IfFalse', 'Condition'],
  Drop: ['Value'],
  Return: ['Value'],
  MemorySize: [],
  MemoryGrow: ['Delta'],
  Unreachable: [],
  Nop: [],
  RefNull: [],
  RefIsNull: ['Value'],
  RefFunc: [],
  RefEq: ['Left', 'Right'],
  TableGet: ['Index'],
  TableSet: ['Index', 'Value'],
  TableSize: [],
  TableGrow: ['Value', 'Delta'],
};

const ids = binaryen as unknown as Record<string, number>;
/** Expression id -> Binaryen class name, for the kinds above plus the list-shaped ones. */
const CLASS_OF = new Map<number, string>([...Object.keys(FIELDS), 'Block', 'Call', 'CallIndirect'].map((name) => [ids[`${name}Id`]!, name]));

export function kindName(e: Ref): string {
  const id = binaryen.getExpressionId(e);
  return CLASS_OF.get(id) ?? `expression kind ${id}`;
}

/**
 * The value children of `e` in evaluation order (for If, only its condition; a Loop's body and an
 * If's arms are control flow, handled by the caller). Throws for an expression kind it does not know.
 */
export function childSlots(e: Ref): ChildSlot[] {
  const id = binaryen.getExpressionId(e);
  const name = CLASS_OF.get(id);
  if (name === undefined) throw new Error(`instruction counting does not support ${kindName(e)} (exception handling, GC and tail calls are not handled)`);
  const c = klass(name) as unknown as Record<string, (...a: number[]) => number>;
  if (name === 'Block') {
    const n = c['getNumChildren']!(e);
    return Array.from({ length: n }, (_, i) => ({ get: () => c['getChildAt']!(e, i), set: (v) => void c['setChildAt']!(e, i, v) }));
  }
  const slots: ChildSlot[] = [];
  if (name === 'Call' || name === 'CallIndirect') {
    const n = c['getNumOperands']!(e);
    for (let i = 0; i < n; i++) slots.push({ get: () => c['getOperandAt']!(e, i), set: (v) => void c['setOperandAt']!(e, i, v) });
    if (name === 'CallIndirect') slots.push({ get: () => c['getTarget']!(e), set: (v) => void c['setTarget']!(e, v) });
    return slots;
  }
  for (const field of FIELDS[name]!) {
    const get = (): number => c[`get${field}`]!(e);
    if (get()) slots.push({ get, set: (v) => void c[`set${field}`]!(e, v) });
  }
  return slots;
}
