using Google.Protobuf;
using Onnx;

namespace MetaMae.Interop;

/// <summary>ONNX tensor element types we write (TensorProto.DataType numbers).</summary>
public enum OnnxElementType
{
    Float32 = 1,
    Int64 = 7,
}

/// <summary>
/// A small builder over OnnxSharp's generated protobuf classes (<see cref="GraphProto"/>): initializers from arrays,
/// nodes with attributes, each value named once. Names are made unique with a counter; the caller keeps them.
/// </summary>
internal sealed class OnnxGraph
{
    private int next;
    public GraphProto Graph { get; } = new();

    public OnnxGraph(string name) => Graph.Name = name;

    private string Fresh(string hint) => $"{hint}_{next++}";

    /// <summary>A float32 constant (initializer) of the given shape; data is row-major.</summary>
    public string Weight(string name, float[] data, params long[] shape)
    {
        if (data.Length != shape.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"initializer '{name}': {data.Length} values for shape ({string.Join(", ", shape)})");
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian");
        var t = new TensorProto { Name = name, DataType = (int)OnnxElementType.Float32, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(shape);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>An int64 constant (initializer): shapes, axes, indices.</summary>
    public string Ints(string hint, params long[] values) => IntsShaped(hint, values, [values.Length]);

    /// <summary>An int64 scalar constant (rank 0): e.g. a Gather index that drops its axis.</summary>
    public string IntScalar(string hint, long value) => IntsShaped(hint, [value], []);

    private string IntsShaped(string hint, long[] values, long[] shape)
    {
        var t = new TensorProto { Name = Fresh(hint), DataType = (int)OnnxElementType.Int64 };
        t.Dims.AddRange(shape);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>A float32 scalar constant (rank 0).</summary>
    public string Scalar(string hint, float value)
    {
        var t = new TensorProto { Name = Fresh(hint), DataType = (int)OnnxElementType.Float32 };
        t.FloatData.Add(value);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds one node with one output; returns the output's name.</summary>
    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        OpNamed(opType, Fresh(opType.ToLowerInvariant()), inputs, attributes);

    /// <summary>Adds one node whose output has the given name (a graph output).</summary>
    public string OpNamed(string opType, string output, string[] inputs, params (string Name, object Value)[] attributes)
    {
        var n = new NodeProto { OpType = opType, Name = Fresh("n_" + opType) };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        foreach (var (name, value) in attributes) n.Attribute.Add(Attribute(name, value));
        Graph.Node.Add(n);
        return output;
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        long[] ints => IntsAttribute(name, ints),
        _ => throw new ArgumentException($"attribute '{name}': unsupported type {value.GetType().Name}"),
    };

    private static AttributeProto IntsAttribute(string name, long[] ints)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(ints);
        return a;
    }

    /// <summary>A graph input or output: element type and shape, a dimension of -1 being the symbolic "batch".</summary>
    public static ValueInfoProto Value(string name, OnnxElementType type, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (var d in shape)
            tensor.Shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "batch" }
                                       : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
