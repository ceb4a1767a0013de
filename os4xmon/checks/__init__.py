"""The aspects the plugin checks, one module each, on top of everything else; no aspect imports
another.
"""
