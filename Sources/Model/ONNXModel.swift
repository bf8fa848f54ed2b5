/// The subset of ONNX's protobuf messages (onnx.proto) that an exported STA-CNN uses, as plain
/// value types that serialise themselves with ``ProtobufWriter``.
///
/// Field numbers are those of the public onnx.proto: `ModelProto` (ir_version 1, producer_name 2,
/// producer_version 3, doc_string 6, graph 7, opset_import 8, metadata_props 14), `GraphProto`
/// (node 1, name 2, initializer 5, doc_string 10, input 11, output 12), `NodeProto` (input 1,
/// output 2, name 3, op_type 4, attribute 5), `AttributeProto` (name 1, f 2, i 3, s 4, floats 7,
/// ints 8, type 20), `TensorProto` (dims 1, data_type 2, name 8, raw_data 9), `ValueInfoProto`
/// (name 1, type 2), `TypeProto` (tensor_type 1) → `Tensor` (elem_type 1, shape 2) →
/// `TensorShapeProto` (dim 1) → `Dimension` (dim_value 1, dim_param 2), `OperatorSetIdProto`
/// (domain 1, version 2), `StringStringEntryProto` (key 1, value 2).
public enum ONNX {
    /// `TensorProto.DataType` values used here.
    public enum DataType: Int, Sendable {
        case float = 1
        case int64 = 7
    }

    /// A named constant tensor (graph initializer): row-major data stored as little-endian
    /// `raw_data`.
    public struct Tensor: Sendable, Equatable {
        /// Initializer name, referenced by node inputs.
        public var name: String
        /// Shape (empty: a scalar).
        public var dims: [Int]
        /// Element type.
        public var dataType: DataType
        /// Little-endian element bytes, `product(dims) * (4 or 8)` of them.
        public var rawData: [UInt8]

        /// A FLOAT tensor; `values.count` must equal the product of `dims`.
        public init(name: String, dims: [Int], floats values: [Float]) {
            precondition(values.count == dims.reduce(1, *), "ONNX.Tensor \(name): \(values.count) values for shape \(dims)")
            self.name = name; self.dims = dims; dataType = .float; rawData = littleEndianBytes(values)
        }

        /// An INT64 tensor; `values.count` must equal the product of `dims`.
        public init(name: String, dims: [Int], ints values: [Int]) {
            precondition(values.count == dims.reduce(1, *), "ONNX.Tensor \(name): \(values.count) values for shape \(dims)")
            self.name = name; self.dims = dims; dataType = .int64; rawData = littleEndianBytes(values)
        }

        /// `TensorProto` bytes.
        public var proto: ProtobufWriter {
            var w = ProtobufWriter()
            for d in dims { w.int(1, d) }           // dims (unpacked is valid for repeated int64)
            w.int(2, dataType.rawValue)
            w.string(8, name)
            w.bytes(9, rawData)
            return w
        }
    }

    /// A node attribute (`AttributeProto` with its `type` set).
    public enum Attribute: Sendable, Equatable {
        case int(String, Int)
        case float(String, Float)
        case ints(String, [Int])
        case string(String, String)

        /// The attribute's name.
        public var name: String {
            switch self {
            case let .int(n, _), let .float(n, _), let .ints(n, _), let .string(n, _): return n
            }
        }

        /// `AttributeProto` bytes (`AttributeType`: FLOAT 1, INT 2, STRING 3, INTS 7).
        public var proto: ProtobufWriter {
            var w = ProtobufWriter()
            w.string(1, name)
            switch self {
            case let .float(_, v): w.float(2, v); w.int(20, 1)
            case let .int(_, v): w.int(3, v); w.int(20, 2)
            case let .string(_, v): w.string(4, v); w.int(20, 3)
            case let .ints(_, v): w.packedInts(8, v); w.int(20, 7)
            }
            return w
        }
    }

    /// One operator application (`NodeProto`, default domain `ai.onnx`).
    public struct Node: Sendable, Equatable {
        /// Operator, e.g. `Conv`, `LSTM`.
        public var opType: String
        /// Input value names; `""` marks an omitted optional input.
        public var inputs: [String]
        /// Output value names.
        public var outputs: [String]
        /// Node name (unique in the graph; for readers and error messages).
        public var name: String
        /// Attributes.
        public var attributes: [Attribute]

        public init(_ opType: String, _ inputs: [String], _ outputs: [String], name: String, attributes: [Attribute] = []) {
            self.opType = opType; self.inputs = inputs; self.outputs = outputs; self.name = name; self.attributes = attributes
        }

        /// `NodeProto` bytes.
        public var proto: ProtobufWriter {
            var w = ProtobufWriter()
            for i in inputs { w.string(1, i) }
            for o in outputs { w.string(2, o) }
            w.string(3, name)
            w.string(4, opType)
            for a in attributes { w.message(5, a.proto) }
            return w
        }
    }

    /// One dimension of a graph input or output: fixed, or a named symbolic size.
    public enum Dimension: Sendable, Equatable {
        case value(Int)
        case param(String)
    }

    /// A graph input or output (`ValueInfoProto` with a tensor type).
    public struct ValueInfo: Sendable, Equatable {
        public var name: String
        public var elementType: DataType
        public var shape: [Dimension]

        public init(name: String, elementType: DataType = .float, shape: [Dimension]) {
            self.name = name; self.elementType = elementType; self.shape = shape
        }

        /// `ValueInfoProto` bytes.
        public var proto: ProtobufWriter {
            var w = ProtobufWriter()
            w.string(1, name)
            w.message(2) { type in                          // TypeProto
                type.message(1) { tensor in                 // TypeProto.Tensor
                    tensor.int(1, elementType.rawValue)
                    tensor.message(2) { shapeProto in       // TensorShapeProto
                        for d in shape {
                            shapeProto.message(1) { dim in  // Dimension
                                switch d {
                                case .value(let v): dim.int(1, v)
                                case .param(let p): dim.string(2, p)
                                }
                            }
                        }
                    }
                }
            }
            return w
        }
    }

    /// A computation graph (`GraphProto`): nodes in topological order.
    public struct Graph: Sendable {
        public var name: String
        public var docString: String = ""
        public var nodes: [Node] = []
        public var initializers: [Tensor] = []
        public var inputs: [ValueInfo] = []
        public var outputs: [ValueInfo] = []

        public init(name: String) { self.name = name }

        /// `GraphProto` bytes.
        public var proto: ProtobufWriter {
            var w = ProtobufWriter()
            for n in nodes { w.message(1, n.proto) }
            w.string(2, name)
            for t in initializers { w.message(5, t.proto) }
            if !docString.isEmpty { w.string(10, docString) }
            for i in inputs { w.message(11, i.proto) }
            for o in outputs { w.message(12, o.proto) }
            return w
        }
    }

    /// A whole model file (`ModelProto`).
    public struct Model: Sendable {
        /// ONNX IR version (8 goes with opset 17).
        public var irVersion: Int = 8
        /// Version of the default (`ai.onnx`) operator set.
        public var opsetVersion: Int = 17
        public var producerName: String = "ser"
        public var producerVersion: String = ""
        public var docString: String = ""
        public var graph: Graph
        /// `metadata_props`, written in this order (keys should be distinct).
        public var metadata: [(key: String, value: String)] = []

        public init(graph: Graph) { self.graph = graph }

        /// The serialised model: the bytes of a `.onnx` file.
        public func serialized() -> [UInt8] {
            var w = ProtobufWriter()
            w.int(1, irVersion)
            w.string(2, producerName)
            if !producerVersion.isEmpty { w.string(3, producerVersion) }
            if !docString.isEmpty { w.string(6, docString) }
            w.message(7, graph.proto)
            w.message(8) { opset in opset.string(1, ""); opset.int(2, opsetVersion) }
            for (k, v) in metadata {
                w.message(14) { entry in entry.string(1, k); entry.string(2, v) }
            }
            return w.bytes
        }
    }
}
