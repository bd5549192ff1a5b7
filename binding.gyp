{
  "targets": [
    {
      "target_name": "perennial",
      "sources": [
        "native/addon.cc",
        "native/allocator.cc",
        "native/handle.cc",
        "native/args.cc",
        "native/creation.cc",
        "native/properties.cc",
        "native/pointwise.cc",
        "native/reduction.cc",
        "native/linalg.cc",
        "native/shape.cc",
        "native/sorting.cc",
        "native/nn_functional.cc",
        "native/onednn_linear.cc",
        "native/autograd.cc",
        "native/random.cc",
        "native/runtime.cc",
        "native/interrupt.cc",
        "native/file_lock.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs include)"
      ],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NAPI_CPP_EXCEPTIONS",
        "<!@(node scripts/libtorch.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["<!@(node scripts/libtorch.mjs ldflags)"],
      "libraries": ["<!@(node scripts/libtorch.mjs libraries)"]
    }
  ]
}
