"""`eucalite demo`: the Eucalyptus 3.4 instance-profile walkthrough, run end to end with the aws CLI.

scenario.py holds the steps as data, runner.py runs them (one real subprocess per printed command),
cloud.py finds or starts the cloud and picks the node driver, output.py prints what happens.
"""
