// swift-tools-version:6.0
// Single-thread timing of the FF layer (FeatureExtractor) and of a libsndfile + soxr-HQ load,
// the Swift side of benchmarks/librosa_features.py. Not part of the main package.
//
//   cd benchmarks/FeatureBench && swift build -c release -Xcc -march=x86-64-v3
//   OPENBLAS_NUM_THREADS=1 .build/release/Bench path/to/clip.flac 300
import PackageDescription

let package = Package(
    name: "FeatureBench",
    dependencies: [.package(name: "SER", path: "../..")],
    targets: [
        .systemLibrary(name: "BSndFile", path: "Sources/BSndFile", pkgConfig: "sndfile"),
        .systemLibrary(name: "BSoxr", path: "Sources/BSoxr", pkgConfig: "soxr"),
        .executableTarget(name: "Bench",
                          dependencies: [.product(name: "SpeechEmotion", package: "SER"), "BSndFile", "BSoxr"],
                          path: "Sources/Bench"),
    ])
