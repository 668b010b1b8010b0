"""neurosteer: a hand-coded subcortex steering a generic, self-learning cortex."""
from setuptools import find_packages, setup

setup(
    name="neurosteer",
    version="0.1.0",
    description="Simulate how a hand-coded subcortex steers a generic self-learning cortex (rate and Brian2 backends)",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["cortex", "cortex.*", "subcortex", "subcortex.*", "experiments", "experiments.*"]),
    install_requires=[
        # Brian2 2.9.x is the newest release for Python 3.11 (2.10 needs 3.12, 2.11 needs 3.13), and it
        # fails to import with numpy 2.4 ('ndarray.ptp' was removed): hence the numpy cap.
        "numpy>=1.26,<2.4",
        "brian2>=2.9.0,<2.10; python_version < '3.12'",
        "brian2>=2.9.0,<3; python_version >= '3.12'",
        # Brian2's cython runtime target compiles generated code at run time
        "cython>=3.0",
        "setuptools>=68",
        "scipy>=1.11",
        "pydantic>=2.6,<3",
        "pyyaml>=6.0",
        "h5py>=3.9",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        # experiments.probes: cross-validated decoders of what the cortex's recorded activity carries
        "scikit-learn>=1.3",
        "dask>=2024.1",
        "distributed>=2024.1",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.2"],
        "cluster": ["dask-jobqueue>=0.8.2"],
        "nwb": ["pynwb>=2.8", "nwbinspector>=0.5"],
        # cortex.baselines.lstm (the LSTM baseline); the n-gram baseline needs nothing extra
        "baselines": ["torch>=2.2"],
    },
    entry_points={"console_scripts": ["neurosteer=experiments.cli:main"]},
)
