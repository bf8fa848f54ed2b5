// `import SpeechEmotion`: the library in one import (the `SpeechEmotion` product).
//
// EmotionRecognizer, EmotionPrediction, Timeline and RecognizerOptions (SERRecognizer); the bundled
// models (SERBundledModels); decoding and resampling (SERAudio); the feature configuration
// (SERFeatures); the Whisper encoder and ClipFeaturizer (SEREncoder); the STA-CNN and model files
// (SERModel); BLAS, threads and safetensors (SERCore).
@_exported import SERAudio
@_exported import SERBundledModels
@_exported import SERCore
@_exported import SEREncoder
@_exported import SERFeatures
@_exported import SERModel
@_exported import SERRecognizer
