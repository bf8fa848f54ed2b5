import SERCore
import SERNetwork

/// The STA-CNN network (paper section III) with explicit forward and backward passes.
///
/// ```
/// x (B, T, C_in)                                  FF: standardised fused features
/// -> [sum_l softmax(w)_l x_l]                     with every encoder layer (`layerSum`)  (B, T, C_lfe)
/// -> [Conv1D k3 -> ReLU -> MaxPool 2] x 3         LFE, eq. 2     (B, T/8, 128)
/// -> Dropout
/// -> BiLSTM (64 per direction)                    CFE, eq. 3     (B, T/8, 128)
/// -> multi-head self-attention, summed over t     GFE, eqs. 4-6  (B, 128)
/// -> Dropout -> Dense                             eq. 7          (B, classes) logits
/// ```
///
/// Parameter names and layouts are those of the PyTorch reference (`benchmarks/model/stacnn.py`),
/// so `state_dict()` loads there with `strict=True`. Not thread-safe: each thread needs its own
/// instance (build them from one `SavedModel`).
public final class STACNN {
    /// The configuration.
    public let config: STACNNConfig
    /// The learned weighted sum of the encoder's hidden states (nil unless `config.layerSum`).
    public let layerSum: LayerWeightedSum?
    /// LFE convolutions.
    public let convs: [Conv1D]
    /// LFE blocks: each convolution with its ReLU and max-pooling, fused (``ConvReLUPool``).
    private let blocks: [ConvReLUPool]
    private let lfeDropout: Dropout
    /// CFE (nil when ablated).
    public let cfe: BiLSTM?
    /// GFE (nil when ablated).
    public let gfe: MultiHeadSelfAttention?
    private let mean: SequenceMean?
    private let headDropout: Dropout
    /// Output layer.
    public let classifier: Dense
    /// Loss layer (its `classWeights` may be set for imbalanced corpora).
    public let criterion: SoftmaxCrossEntropy
    /// Softmax temperature `T > 0` of ``predict(features:)``: probabilities are
    /// `softmax(logits / T)` (temperature scaling, Guo et al. 2017). 1 (plain softmax) for a new
    /// model; ``SavedModel/makeModel()`` sets the value fitted on validation data. Training and
    /// ``logits(_:training:)`` ignore it, and it never changes which class is most probable.
    public var temperature: Float = 1

    private let input = FloatBuffer()        // inference input (1, T, C)
    private var batchLayout = SequenceLayout(time: 1, lengths: [1])
    private var seqLayout = SequenceLayout(time: 1, lengths: [1])
    private var lastTraining = false

    /// A freshly initialised model: each layer draws PyTorch's default initialisation from a
    /// generator derived from `seed`, and dropout masks from further derived generators.
    public init(config: STACNNConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        // The layer logits start at zero (no random draw), so the other layers' initial weights
        // are those of a model without the layer sum.
        layerSum = config.layerSum.map {
            LayerWeightedSum(name: "layer_sum", offset: $0.offset, layers: $0.layers, width: $0.width,
                             inChannels: config.inputChannels, computesInputGrad: false)
        }
        var convs: [Conv1D] = []
        var cin = config.lfeInputChannels
        for (i, c) in config.convChannels.enumerated() {
            var rng = SeededRandom.derived(seed: seed, stream: UInt64(i))
            convs.append(Conv1D(name: "lfe.\(i)", inChannels: cin, outChannels: c, kernel: config.kernelSize,
                                computesInputGrad: i > 0 || config.layerSum != nil, rng: &rng))
            cin = c
        }
        self.convs = convs
        blocks = convs.map { ConvReLUPool(conv: $0) }
        lfeDropout = Dropout(p: config.dropout, seed: dropoutSeed(seed, 100))
        if config.useCFE {
            var rng = SeededRandom.derived(seed: seed, stream: 10)
            cfe = BiLSTM(name: "cfe", inputSize: cin, hiddenSize: config.lstmHidden, rng: &rng)
            cin = 2 * config.lstmHidden
        } else { cfe = nil }
        if config.useGFE {
            var rng = SeededRandom.derived(seed: seed, stream: 11)
            gfe = MultiHeadSelfAttention(name: "gfe", embedDim: cin, heads: config.heads, rng: &rng)
            mean = nil
        } else {
            gfe = nil
            mean = SequenceMean(channels: cin)
        }
        headDropout = Dropout(p: config.dropout, seed: dropoutSeed(seed, 101))
        var rng = SeededRandom.derived(seed: seed, stream: 12)
        classifier = Dense(name: "classifier", inFeatures: cin, outFeatures: config.numClasses, rng: &rng)
        criterion = SoftmaxCrossEntropy(classes: config.numClasses)
    }

    /// All parameters in `state_dict` order.
    public var parameters: [Parameter] {
        (layerSum?.parameters ?? []) + convs.flatMap(\.parameters) + (cfe?.parameters ?? []) + (gfe?.parameters ?? []) + classifier.parameters
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Restarts the dropout masks from `seed` (e.g. once per epoch for repeatable runs).
    public func reseedDropout(_ seed: UInt64) {
        lfeDropout.reseed(dropoutSeed(seed, 100))
        headDropout.reseed(dropoutSeed(seed, 101))
    }

    // MARK: forward / backward

    /// Runs the network on `x (B, T, C_in)`; returns a pointer to the logits `(B, classes)`, valid
    /// until the next call. With `training` false nothing is cached for backward and dropout is off.
    private func run(_ x: UnsafePointer<Float>, layout: SequenceLayout, training: Bool) -> UnsafePointer<Float> {
        batchLayout = layout
        lastTraining = training
        var cur = x, lay = layout
        if let layerSum {
            layerSum.forward(x, rows: layout.rows, training: training)
            cur = UnsafePointer(layerSum.output.pointer)
        }
        for block in blocks {
            block.forward(cur, layout: lay, training: training)
            lay = block.outputLayout
            cur = UnsafePointer(block.output.pointer)
        }
        seqLayout = lay
        lfeDropout.forward(cur, count: lay.rows * config.lfeChannels, training: training)
        cur = UnsafePointer(lfeDropout.output.pointer)
        if let cfe {
            cfe.forward(cur, layout: lay, training: training)
            cur = UnsafePointer(cfe.output.pointer)
        }
        if let gfe {
            gfe.forward(cur, layout: lay, training: training)
            cur = UnsafePointer(gfe.output.pointer)
        } else if let mean {
            mean.forward(cur, layout: lay)
            cur = UnsafePointer(mean.output.pointer)
        }
        headDropout.forward(cur, count: lay.batch * config.sequenceChannels, training: training)
        classifier.forward(headDropout.output.pointer, rows: lay.batch, training: training)
        return UnsafePointer(classifier.output.pointer)
    }

    /// Logits `(B, classes)` for a batch. With `training` true, dropout is active and the caches
    /// for `backward` are kept.
    public func logits(_ batch: Batch, training: Bool = false) -> Tensor {
        precondition(batch.channels == config.inputChannels, "STACNN: batch has \(batch.channels) channels, model \(config.inputChannels)")
        let p = batch.x.data.withUnsafeBufferPointer { run($0.baseAddress!, layout: batch.layout, training: training) }
        return Tensor(shape: [batch.size, config.numClasses], data: Array(UnsafeBufferPointer(start: p, count: batch.size * config.numClasses)))
    }

    /// Training forward: logits and the cross-entropy loss against `batch.labels`; caches for `backward`.
    @discardableResult
    public func forward(_ batch: Batch, training: Bool = true) -> (logits: Tensor, loss: Float) {
        precondition(batch.labels.count == batch.size, "STACNN.forward: batch needs labels")
        let z = logits(batch, training: training)
        let loss = z.data.withUnsafeBufferPointer { criterion.forward($0.baseAddress!, labels: batch.labels) }
        return (z, loss)
    }

    /// Accumulates the gradient of the last `forward`'s loss into every `Parameter.grad`
    /// (call `zeroGrad` first). Valid only right after a training `forward`.
    public func backward() {
        precondition(lastTraining, "STACNN.backward: the last forward was not a training forward")
        criterion.backward()
        classifier.backward(criterion.inputGrad.pointer)
        headDropout.backward(classifier.inputGrad.pointer)
        var d = UnsafePointer(headDropout.inputGrad.pointer)
        if let gfe { gfe.backward(d); d = UnsafePointer(gfe.inputGrad.pointer) }
        else if let mean { mean.backward(d); d = UnsafePointer(mean.inputGrad.pointer) }
        if let cfe { cfe.backward(d); d = UnsafePointer(cfe.inputGrad.pointer) }
        lfeDropout.backward(d)
        d = UnsafePointer(lfeDropout.inputGrad.pointer)
        for block in blocks.reversed() {
            block.backward(d)
            d = UnsafePointer(block.inputGrad.pointer)
        }
        layerSum?.backward(d)
    }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// One optimisation step on `batch` (dropout on): zero grads, forward, backward, optional
    /// gradient-norm clipping, Adam update. Returns the loss before the update.
    @discardableResult
    public func trainStep(_ batch: Batch, optimizer: Adam, clipNorm: Float? = nil) -> Float {
        zeroGrad()
        let (_, loss) = forward(batch, training: true)
        backward()
        if let clipNorm { Adam.clipGradientNorm(optimizer.parameters, maxNorm: clipNorm) }
        optimizer.update()
        return loss
    }

    /// An Adam optimiser over this model's parameters (defaults: the paper's lr 1e-4 and L2 1e-3).
    ///
    /// The layer logits of ``layerSum`` form their own group (PyTorch: a parameter group): learning
    /// rate times `config.layerSum.learningRateScale`, no L2 (see ``LayerSumConfig``).
    public func makeOptimizer(learningRate: Float = 1e-4, weightDecay: Float = 1e-3) -> Adam {
        let adam = Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
        if let layerSum, let s = config.layerSum, let i = adam.parameters.firstIndex(where: { $0 === layerSum.weight }) {
            adam.learningRateScale[i] = s.learningRateScale
            adam.decays[i] = false
        }
        return adam
    }

    /// The weight `softmax(w)` the head gives each encoder hidden state (0 = embedding output),
    /// or nil without ``layerSum``.
    public var layerWeights: [Float]? { layerSum?.layerWeights }

    // MARK: inference

    /// Class probabilities for one clip given as a standardised `[C, T]` feature matrix:
    /// `softmax(logits / temperature)`, the calibrated probabilities when ``temperature`` was fitted.
    ///
    /// Inference only: no training caches are kept, dropout is off, and all buffers are reused
    /// from call to call (no allocation once they have grown to the clip's size, apart from the
    /// returned array).
    public func predict(features: Tensor) throws -> [Float] {
        guard features.shape.count == 2, features.shape[0] == config.inputChannels else {
            throw BatchError.shape(index: 0, expectedChannels: config.inputChannels, found: features.shape)
        }
        let (C, T) = (features.shape[0], features.shape[1])
        guard T > 0 else { throw BatchError.emptyClip(index: 0) }
        input.resize(T * C)
        let dst = input.pointer
        features.data.withUnsafeBufferPointer { src in      // [C, T] -> (T, C), in tiles of 16 frames
            var t0 = 0
            while t0 < T {
                let t1 = min(T, t0 + 16)
                for c in 0..<C { for t in t0..<t1 { dst[t * C + c] = src[c * T + t] } }
                t0 = t1
            }
        }
        let z = run(input.pointer, layout: SequenceLayout(time: T, lengths: [T]), training: false)
        let K = config.numClasses, beta = 1 / temperature
        var p = [Float](repeating: 0, count: K)              // (K) logits / T, then softmax in place
        p.withUnsafeMutableBufferPointer { q in
            let out = q.baseAddress!
            for k in 0..<K { out[k] = z[k] * beta }
            SoftmaxCrossEntropy.softmax(UnsafePointer(out), rows: 1, classes: K, into: out)
        }
        return p
    }

    // MARK: weights

    /// The parameters as named tensors (PyTorch `state_dict` names and layouts).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) })
    }

    /// Loads named tensors; every parameter must be present with its exact shape and no extra
    /// tensor may be given. `path` names the source in errors.
    public func load(stateDict: [String: Tensor], path: String = "<memory>") throws {
        let params = parameters
        let names = Set(params.map(\.name))
        if let extra = stateDict.keys.sorted().first(where: { !names.contains($0) }) {
            throw ModelFileError.unexpectedTensor(path: path, name: extra)
        }
        for p in params {
            guard let t = stateDict[p.name] else { throw ModelFileError.missingTensor(path: path, name: p.name) }
            guard t.shape == p.shape else { throw ModelFileError.shapeMismatch(path: path, name: p.name, expected: p.shape, found: t.shape) }
            guard t.isFinite else { throw ModelFileError.nonFinite(path: path, name: p.name) }
        }
        for p in params { p.load(stateDict[p.name]!.data) }
    }
}

/// A dropout seed derived from the model seed.
private func dropoutSeed(_ seed: UInt64, _ stream: UInt64) -> UInt64 {
    var g = SeededRandom.derived(seed: seed, stream: stream)
    return g.next()
}
